package rollout

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
)

// poll is one look at every unfinished deployment: DescribeServices for all,
// tasks only where something changed, then the verdicts. A failed call leaves
// the services it was about as last seen, to be tried again next poll; only an
// access denial or expired credentials, which no retry will cure, are
// returned, or ctx's error when it was done before every call started.
func (w *watcher) poll(ctx context.Context) error {
	w.polls++
	active := w.active()
	if err := w.describeServices(ctx, active); err != nil {
		return err
	}
	if err := w.lookAtTasks(ctx, active); err != nil {
		return err
	}
	for _, t := range active {
		t.decide(w.opts.FailFast)
	}
	return nil
}

// describeServices observes the services in batches of 10 per cluster.
func (w *watcher) describeServices(ctx context.Context, active []*tracker) error {
	groups := batches(active, describeServicesBatch, func(t *tracker) string { return t.dep.Cluster })
	views := make([][]*serviceView, len(groups))
	errs := make([]error, len(groups))
	stopped := forEach(ctx, len(groups), func(i int) { views[i], errs[i] = describeServiceBatch(ctx, w.api, groups[i]) })
	for i, g := range groups {
		if errs[i] != nil {
			if awserr.Permanent(errs[i]) {
				return errs[i]
			}
			for _, t := range g {
				t.lastErr = errs[i].Error()
			}
			continue
		}
		if views[i] == nil {
			continue // the batch did not run: ctx was done first
		}
		for j, t := range g {
			if views[i][j] != nil {
				t.observe(*views[i][j])
			}
		}
	}
	return stopped
}

// describeServiceBatch is one DescribeServices call; it returns a view for
// each tracker of g, nil where the response said nothing of it.
func describeServiceBatch(ctx context.Context, api ECS, g []*tracker) ([]*serviceView, error) {
	refs := make([]string, len(g))
	names := make([]string, len(g))
	for i, t := range g {
		refs[i], names[i] = serviceKey(t.dep.Target), awsname.Short(serviceRef(t.dep.Target))
	}
	cluster := g[0].dep.Cluster
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: refs})
	if err != nil {
		return nil, awserr.Wrap(err, "ecs:DescribeServices", fmt.Sprintf("services %s in cluster %s", strings.Join(names, ", "), awsname.Short(cluster)))
	}
	views := make([]*serviceView, len(g))
	for i, t := range g {
		views[i] = viewFor(out, t)
	}
	return views, nil
}

// viewFor finds t's service in the response, by ARN or by name.
func viewFor(out *ecs.DescribeServicesOutput, t *tracker) *serviceView {
	for _, s := range out.Services {
		if sameService(t.dep.Target, aws.ToString(s.ServiceArn), aws.ToString(s.ServiceName)) {
			v := viewService(s, t.dep.DeploymentID, t.mark, t.dep.StartedAt)
			return &v
		}
	}
	for _, f := range out.Failures {
		if sameService(t.dep.Target, aws.ToString(f.Arn), awsname.Short(aws.ToString(f.Arn))) {
			return &serviceView{gone: orDefault(aws.ToString(f.Reason), "MISSING"), news: news{mark: t.mark}}
		}
	}
	return nil
}

// serviceKey names the service in DescribeServices: the ARN when the plan has
// it, since it cannot be mistaken.
func serviceKey(t Target) string {
	if t.ServiceArn != "" {
		return t.ServiceArn
	}
	return t.Service
}

func sameService(t Target, arn, name string) bool {
	if t.ServiceArn != "" && arn != "" {
		return t.ServiceArn == arn
	}
	return awsname.Short(serviceRef(t)) == name
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
