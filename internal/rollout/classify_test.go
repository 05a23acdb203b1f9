package rollout

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Texts as ECS, the EC2 agent and Fargate write them (AWS troubleshooting
// guides, aws/amazon-ecs-agent errors.go and asm.go).
const (
	ec2PullDenied     = `CannotPullContainerError: Error response from daemon: pull access denied for registry.example.com/app/web, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`
	fargatePull401    = `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/acme/web:1: pulling from host registry-1.docker.io failed with status code [manifests 1]: 401 Unauthorized`
	ecrPull           = `CannotPullECRContainerError: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/ecsInstanceRole/i-0abc is not authorized to perform: ecr:GetAuthorizationToken on resource: *`
	authPull          = `CannotPullContainerAuthError: unable to retrieve registry auth: unauthorized`
	staleReason       = `CannotPullContainerError: Error response from daemon: Head "https://registry.example.com/v2/app/web/manifests/1": unauthorized: authentication required`
	fargateSecret     = `ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret arn:aws:secretsmanager:us-east-1:123456789012:secret:reg-AbCdEf from secrets manager: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/ecsTaskExecutionRole/1a2b is not authorized to perform: secretsmanager:GetSecretValue`
	ec2AsmSecret      = `Asm fetching secret from the service for arn:aws:secretsmanager:us-east-1:123456789012:secret:reg-AbCdEf: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/ecsTaskExecutionRole/1a2b is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:reg-AbCdEf`
	ec2FetchingSecret = `Fetching secret data from AWS Secrets Manager in region us-east-1: secret arn:aws:secretsmanager:us-east-1:123456789012:secret:reg-AbCdEf: ResourceNotFoundException: Secrets Manager can't find the specified secret.`
	loggerInit        = `ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist.`
)

type container struct {
	reason string
	exit   *int32
}

func task(last, desired string, code ecstypes.TaskStopCode, stopped string, cs ...container) ecstypes.Task {
	t := ecstypes.Task{
		TaskArn:       aws.String("arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef"),
		LastStatus:    aws.String(last),
		DesiredStatus: aws.String(desired),
		StopCode:      code,
	}
	if stopped != "" {
		t.StoppedReason = aws.String(stopped)
	}
	for i, c := range cs {
		t.Containers = append(t.Containers, ecstypes.Container{
			Name:     aws.String([]string{"web", "sidecar"}[i%2]),
			Image:    aws.String("registry.example.com/app/web:1"),
			Reason:   optional(c.reason),
			ExitCode: c.exit,
		})
	}
	return t
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func TestClassify(t *testing.T) {
	const (
		failed    = ecstypes.TaskStopCodeTaskFailedToStart
		exited    = ecstypes.TaskStopCodeEssentialContainerExited
		scheduler = ecstypes.TaskStopCodeServiceSchedulerInitiated
		user      = ecstypes.TaskStopCodeUserInitiated
	)
	cases := []struct {
		name string
		task ecstypes.Task
		want Kind
	}{
		{"running", task("RUNNING", "RUNNING", "", "", container{}), KindRunning},
		{"provisioning", task("PROVISIONING", "RUNNING", "", ""), KindPending},
		{"pending", task("PENDING", "RUNNING", "", "", container{}), KindPending},
		{"activating", task("ACTIVATING", "RUNNING", "", "", container{}), KindPending},
		{"stopping without a cause yet stays running", task("RUNNING", "STOPPED", "", "", container{}), KindRunning},

		{"EC2 pull denied in stoppedReason and container", task("STOPPED", "STOPPED", failed, ec2PullDenied, container{reason: ec2PullDenied}), KindPullFailed},
		{"Fargate pull 401 in container only", task("STOPPED", "STOPPED", failed, "Essential container in task exited", container{reason: fargatePull401}), KindPullFailed},
		{"ECR pull error", task("STOPPED", "STOPPED", failed, ecrPull, container{reason: ecrPull}), KindPullFailed},
		{"auth pull error", task("STOPPED", "STOPPED", failed, authPull), KindPullFailed},
		{"pull error while deprovisioning", task("DEPROVISIONING", "STOPPED", failed, fargatePull401, container{}), KindPullFailed},
		{"pull error in the second container", task("STOPPED", "STOPPED", failed, "Essential container in task exited", container{}, container{reason: ec2PullDenied}), KindPullFailed},

		{"Fargate secret", task("STOPPED", "STOPPED", failed, fargateSecret, container{}), KindSecretFailed},
		{"EC2 Asm fetching secret", task("STOPPED", "STOPPED", failed, ec2AsmSecret, container{reason: ec2AsmSecret}), KindSecretFailed},
		{"EC2 Fetching secret data", task("STOPPED", "STOPPED", failed, ec2FetchingSecret, container{}), KindSecretFailed},
		{"secret in container reason only", task("STOPPED", "STOPPED", failed, "", container{reason: ec2AsmSecret}), KindSecretFailed},

		{"stale cached image", task("RUNNING", "RUNNING", "", "", container{reason: staleReason}), KindStaleImage},
		{"stale cached image in a sidecar", task("RUNNING", "RUNNING", "", "", container{}, container{reason: staleReason}), KindStaleImage},

		{"exit code", task("STOPPED", "STOPPED", exited, "Essential container in task exited", container{exit: aws.Int32(1)}), KindOtherFailure},
		{"out of memory", task("STOPPED", "STOPPED", exited, "Essential container in task exited", container{reason: "OutOfMemoryError: Container killed due to memory usage", exit: aws.Int32(137)}), KindOtherFailure},
		{"ELB health check", task("STOPPED", "STOPPED", scheduler, "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123)", container{exit: aws.Int32(143)}), KindOtherFailure},
		{"container health check", task("STOPPED", "STOPPED", scheduler, "Task failed container health checks", container{}), KindOtherFailure},
		{"logger set-up is no secret failure", task("STOPPED", "STOPPED", failed, loggerInit, container{}), KindOtherFailure},
		{"cannot start container", task("STOPPED", "STOPPED", failed, "CannotStartContainerError: Error response from daemon: failed to create shim task", container{}), KindOtherFailure},
		{"spot interruption", task("STOPPED", "STOPPED", ecstypes.TaskStopCodeSpotInterruption, "Your Spot Task was interrupted.", container{exit: aws.Int32(143)}), KindOtherFailure},

		{"scaled in by the deployment", task("STOPPED", "STOPPED", scheduler, "Scaling activity initiated by (deployment ecs-svc/1234567890123456789)", container{exit: aws.Int32(143)}), KindStopped},
		{"stopped by a user", task("STOPPED", "STOPPED", user, "Task stopped by user", container{exit: aws.Int32(0)}), KindStopped},
		{"being stopped by the scheduler", task("RUNNING", "STOPPED", scheduler, "Scaling activity initiated by (deployment ecs-svc/1)", container{}), KindStopped},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Classify(c.task); got != c.want {
				t.Errorf("Classify = %s, want %s", got, c.want)
			}
		})
	}
}

func TestNoteKeepsECSWords(t *testing.T) {
	tk := task("STOPPED", "STOPPED", ecstypes.TaskStopCodeTaskFailedToStart, "Essential container in task exited", container{reason: ec2PullDenied})
	n := noteOf(tk)
	if n.kind != KindPullFailed || n.failed == nil {
		t.Fatalf("note = %+v", n)
	}
	c := n.failed.Containers[0]
	if c.Name != "web" || c.Image != "registry.example.com/app/web:1" || c.Reason != ec2PullDenied {
		t.Errorf("container = %+v", c)
	}
	want := "task 0123456789abcdef0123456789abcdef stopped: " + ec2PullDenied + " (container web)"
	if n.sentence != want {
		t.Errorf("sentence = %q\nwant       %q", n.sentence, want)
	}

	stale := noteOf(task("RUNNING", "RUNNING", "", "", container{reason: staleReason}))
	if !strings.Contains(stale.sentence, "RUNNING on a cached image") || !strings.Contains(stale.sentence, staleReason) {
		t.Errorf("stale sentence = %q", stale.sentence)
	}

	other := noteOf(task("STOPPED", "STOPPED", ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", container{exit: aws.Int32(2)}))
	if !strings.Contains(other.sentence, "exited with code 2") || !strings.Contains(other.sentence, "stopCode EssentialContainerExited") {
		t.Errorf("other sentence = %q", other.sentence)
	}

	if running := noteOf(task("RUNNING", "RUNNING", "", "", container{})); running.failed != nil || running.sentence != "" {
		t.Errorf("a running task keeps nothing: %+v", running)
	}
}
