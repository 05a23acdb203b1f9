package ecsconfig

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/batch"
)

// maxDescribeContainerInstances is DescribeContainerInstances' limit.
const maxDescribeContainerInstances = 100

// agentView is a container instance's agent as last described.
type agentView struct {
	connected bool
	gone      string // why the instance will not come back: INACTIVE, MISSING, ...
	seen      bool
}

// waitAgents waits until the agent of every instance of insts is connected
// (every look starts after their commands ended), one of them is gone, or
// AgentTimeout passes; watch are described too but not waited for. It
// returns each instance's agent as last seen, by agentKey, and an error only when
// ctx ended, access was denied or the credentials expired.
func (r *runner) waitAgents(ctx context.Context, insts, watch []Instance) (map[string]agentView, error) {
	views := map[string]agentView{}
	all := append(append([]Instance(nil), insts...), watch...)
	if len(all) == 0 {
		return views, nil
	}
	r.lastErr = nil // an earlier wait's failed look says nothing of this one
	wctx, cancel := context.WithTimeout(ctx, r.o.AgentTimeout)
	defer cancel()
	timer := time.NewTimer(0) // the commands already ended: look at once
	defer timer.Stop()
	for {
		select {
		case <-wctx.Done():
			return views, r.waitEnded(ctx, "the ECS agents to connect again")
		case <-timer.C:
		}
		err := r.describeAgents(wctx, all, views)
		if wctx.Err() != nil {
			r.cutOff(err)
			return views, r.waitEnded(ctx, "the ECS agents to connect again")
		}
		if err != nil {
			if awserr.Permanent(err) {
				return views, err
			}
			r.lastErr = err
			r.log(fmt.Sprintf("%v (trying again)", err))
		}
		if settled(views, insts) {
			return views, nil
		}
		timer.Reset(r.o.PollInterval)
	}
}

// settled reports whether waiting for insts' agents is over: each is
// connected, or one is gone for good.
func settled(views map[string]agentView, insts []Instance) bool {
	all := true
	for _, inst := range insts {
		v := views[agentKey(inst.ContainerInstanceARN)]
		if v.gone != "" {
			return true
		}
		all = all && v.connected
	}
	return all
}

// describeAgents looks at the agents of insts, one
// DescribeContainerInstances per cluster and 100 instances, each call in
// the instances' own cluster. A failed look does not keep the other
// clusters' from being made; a denial stops them.
func (r *runner) describeAgents(ctx context.Context, insts []Instance, views map[string]agentView) error {
	var errs []error
	for _, g := range byCluster(insts) {
		for _, chunk := range batch.Chunks(g, maxDescribeContainerInstances) {
			err := r.describeChunk(ctx, g[0].Cluster, chunk, views)
			if awserr.Permanent(err) || ctx.Err() != nil {
				return err
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// describeChunk is one DescribeContainerInstances of chunk, all of
// cluster, whose answer goes into views.
func (r *runner) describeChunk(ctx context.Context, cluster string, chunk []Instance, views map[string]agentView) error {
	arns := make([]string, len(chunk))
	for i, inst := range chunk {
		arns[i] = inst.ContainerInstanceARN
	}
	out, err := r.c.ECS.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: arns})
	if err != nil {
		return awserr.Wrap(err, "ecs:DescribeContainerInstances", fmt.Sprintf("%d container instances in cluster %s", len(arns), clusterKey(cluster)))
	}
	for _, ci := range out.ContainerInstances {
		arn := agentKey(aws.ToString(ci.ContainerInstanceArn))
		v := agentView{connected: ci.AgentConnected, seen: true}
		if s := aws.ToString(ci.Status); s == "INACTIVE" || s == "DEREGISTERING" {
			v.gone, v.connected = "the container instance is "+s, false
		}
		views[arn] = v
	}
	for _, f := range out.Failures {
		arn := agentKey(aws.ToString(f.Arn))
		views[arn] = agentView{gone: fmt.Sprintf("ECS no longer knows the container instance in cluster %s (%s)", clusterKey(cluster), aws.ToString(f.Reason)), seen: true}
	}
	return nil
}

// agentKey names a container instance in the views: its id, the same whether
// the plan holds its ARN (old or new format) or only its id.
func agentKey(arn string) string { return awsname.Short(arn) }
