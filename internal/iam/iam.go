// Package iam is the one table of the AWS calls the program makes and the IAM
// actions they need. The README's least-privilege policies are generated from
// it, and a test keeps every action that an error can name in it.
package iam

import (
	"encoding/json"
	"slices"
	"strings"
)

// Modes, as the auth-mode input names them.
const (
	SecretsManager = "secrets-manager"
	ECSConfig      = "ecs-config"
)

// Permission is one IAM action the runner's role needs.
type Permission struct {
	Action string // service:Operation, which is also the API call it allows
	// Resource is the ARN pattern to grant it on, with placeholders REGION,
	// ACCOUNT, CLUSTER and SECRET_ARN; "*" where the action has no
	// resource-level permissions.
	Resource string
	Modes    []string
	// When is "" when a run always may make the call, or the input that
	// brings it in.
	When string
}

var both = []string{SecretsManager, ECSConfig}

// Permissions is every AWS call of a run.
var Permissions = []Permission{
	{Action: "ecs:ListClusters", Resource: "*", Modes: both, When: "cluster: '*'"},
	{Action: "ecs:ListServices", Resource: "*", Modes: both},
	{Action: "ecs:DescribeServices", Resource: "arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/*", Modes: both},
	{Action: "ecs:DescribeTaskDefinition", Resource: "*", Modes: both},
	{Action: "ecs:UpdateService", Resource: "arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/*", Modes: both},
	{Action: "ecs:ListTasks", Resource: "*", Modes: both},
	{Action: "ecs:DescribeTasks", Resource: "arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/*", Modes: both},
	{Action: "ecs:ListContainerInstances", Resource: "arn:aws:ecs:REGION:ACCOUNT:cluster/CLUSTER", Modes: []string{ECSConfig}},
	{Action: "ecs:DescribeContainerInstances", Resource: "arn:aws:ecs:REGION:ACCOUNT:container-instance/CLUSTER/*", Modes: []string{ECSConfig}},
	{Action: "secretsmanager:GetSecretValue", Resource: "SECRET_ARN", Modes: []string{SecretsManager}},
	{Action: "secretsmanager:PutSecretValue", Resource: "SECRET_ARN", Modes: []string{SecretsManager}},
	{Action: "secretsmanager:UpdateSecretVersionStage", Resource: "SECRET_ARN", Modes: []string{SecretsManager}, When: "rollback-on-failure"},
	// One run at a time: the locks (internal/lock) are String parameters.
	{Action: "ssm:PutParameter", Resource: "arn:aws:ssm:REGION:ACCOUNT:parameter/ecs-registry-rotate/lock/*", Modes: both},
	{Action: "ssm:GetParameter", Resource: "arn:aws:ssm:REGION:ACCOUNT:parameter/ecs-registry-rotate/lock/*", Modes: both},
	{Action: "ssm:DeleteParameter", Resource: "arn:aws:ssm:REGION:ACCOUNT:parameter/ecs-registry-rotate/lock/*", Modes: both},
	{Action: "ssm:DescribeInstanceInformation", Resource: "*", Modes: []string{ECSConfig}},
	{Action: "ssm:SendCommand", Resource: "arn:aws:ssm:REGION::document/AWS-RunShellScript", Modes: []string{ECSConfig}},
	{Action: "ssm:SendCommand", Resource: "arn:aws:ec2:REGION:ACCOUNT:instance/*", Modes: []string{ECSConfig}},
	{Action: "ssm:ListCommandInvocations", Resource: "*", Modes: []string{ECSConfig}},
	// A SendCommand whose answer was lost and that the SDK sent again runs
	// twice: the run lists its own commands to find and wait for both.
	{Action: "ssm:ListCommands", Resource: "*", Modes: []string{ECSConfig}},
	// Parameters left by a run that was killed are found and deleted.
	{Action: "ssm:DescribeParameters", Resource: "*", Modes: []string{ECSConfig}},
	{Action: "ssm:CancelCommand", Resource: "*", Modes: []string{ECSConfig}},
	{Action: "ssm:PutParameter", Resource: "arn:aws:ssm:REGION:ACCOUNT:parameter/ecs-registry-rotate/*", Modes: []string{ECSConfig}, When: "ecs-config-transport: parameter"},
	{Action: "ssm:DeleteParameter", Resource: "arn:aws:ssm:REGION:ACCOUNT:parameter/ecs-registry-rotate/*", Modes: []string{ECSConfig}, When: "ecs-config-transport: parameter"},
}

// Known reports whether action is in the table.
func Known(action string) bool {
	return slices.ContainsFunc(Permissions, func(p Permission) bool { return p.Action == action })
}

type statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource string   `json:"Resource"`
}

type policy struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

// Policy is the least-privilege policy of mode, with optional actions
// (rollback) included, one statement per resource pattern.
func Policy(mode string) string {
	p := policy{Version: "2012-10-17"}
	for _, perm := range Permissions {
		if !slices.Contains(perm.Modes, mode) {
			continue
		}
		i := slices.IndexFunc(p.Statement, func(s statement) bool { return s.Resource == perm.Resource })
		if i < 0 {
			p.Statement = append(p.Statement, statement{Sid: sid(perm.Resource, len(p.Statement)), Effect: "Allow", Resource: perm.Resource})
			i = len(p.Statement) - 1
		}
		if !slices.Contains(p.Statement[i].Action, perm.Action) {
			p.Statement[i].Action = append(p.Statement[i].Action, perm.Action)
		}
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	return string(b)
}

func sid(resource string, n int) string {
	switch {
	case resource == "*":
		return "NoResourceLevelPermissions"
	case strings.Contains(resource, ":service/"):
		return "Services"
	case strings.Contains(resource, ":task/"):
		return "Tasks"
	case strings.Contains(resource, ":cluster/"):
		return "Cluster"
	case strings.Contains(resource, ":container-instance/"):
		return "ContainerInstances"
	case resource == "SECRET_ARN":
		return "RegistrySecret"
	case strings.Contains(resource, ":document/"):
		return "RunShellScriptDocument"
	case strings.Contains(resource, ":instance/"):
		return "ClusterInstances"
	case strings.Contains(resource, ":parameter/ecs-registry-rotate/lock/"):
		return "RunLocks"
	case strings.Contains(resource, ":parameter/"):
		return "RunScopedParameter"
	}
	return "Statement" + strings.Repeat("X", n)
}

// Optional lists the actions only some inputs need, for the README.
func Optional(mode string) []Permission {
	var out []Permission
	for _, p := range Permissions {
		if p.When != "" && slices.Contains(p.Modes, mode) {
			out = append(out, p)
		}
	}
	return out
}
