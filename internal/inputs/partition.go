package inputs

import (
	"fmt"
	"strings"
)

// partitions maps each AWS partition to the prefix its region codes carry;
// the commercial partition "aws" takes every region no other one claims.
// An ARN whose partition and region disagree names nothing that exists, so
// it is bad input rather than a NotFound from the plan.
var partitions = []struct{ name, regionPrefix string }{
	{"aws-cn", "cn-"},
	{"aws-us-gov", "us-gov-"},
	{"aws-iso", "us-iso-"},
	{"aws-iso-b", "us-isob-"},
	{"aws-iso-e", "eu-isoe-"},
	{"aws-iso-f", "us-isof-"},
	{"aws-eusc", "eusc-"},
}

// arnPartitionProblem returns what is wrong with an ARN's partition, or "".
// region is empty for global services (IAM).
func arnPartitionProblem(arn string) string {
	fields := strings.SplitN(arn, ":", 5)
	if len(fields) < 4 {
		return ""
	}
	partition, region := fields[1], fields[3]
	want, known := "aws", partition == "aws"
	for _, p := range partitions {
		if p.name == partition {
			known = true
		}
		if region != "" && strings.HasPrefix(region, p.regionPrefix) {
			want = p.name
		}
	}
	switch {
	case !known:
		return fmt.Sprintf("has the unknown partition %q; use aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f or aws-eusc", partition)
	case region != "" && partition != want:
		return fmt.Sprintf("has partition %q but region %q, which is in partition %q; copy the ARN from the console or the CLI", partition, region, want)
	}
	return ""
}
