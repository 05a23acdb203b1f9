package awsname

import "testing"

func TestShort(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:ecs:us-east-1:123456789012:cluster/prod":             "prod",
		"arn:aws:ecs:us-east-1:123456789012:service/prod/web":         "web",
		"arn:aws:ecs:us-east-1:123456789012:task-definition/web:3":    "web:3",
		"arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcd": "0123456789abcd",
		"web":         "web",
		"service/web": "service/web",
		"":            "",
	} {
		if got := Short(in); got != want {
			t.Errorf("Short(%q) = %q, want %q", in, got, want)
		}
	}
}
