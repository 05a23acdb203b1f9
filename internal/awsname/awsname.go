// Package awsname reads the one part of an AWS ARN that people recognise.
package awsname

import "strings"

// Short is the last part of an ARN's resource ("arn:...:cluster/prod" →
// "prod", "...:task-definition/web:3" → "web:3"); anything that is not an
// ARN is returned as it is, since it already is the name.
func Short(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 && strings.HasPrefix(s, "arn:") {
		return s[i+1:]
	}
	return s
}
