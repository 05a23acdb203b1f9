// Package awserr turns an AWS SDK error into one that names the call, the
// resource and, for a denial, the IAM action the caller's role lacks.
package awserr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// Error is a failed AWS call, described for a person.
type Error struct {
	Action   string // IAM action of the call, e.g. "ecs:UpdateService"
	Resource string // what it was called on, e.g. "service web in cluster prod"
	Code     string // AWS error code, e.g. "AccessDeniedException"; "" when not an API error
	Err      error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s on %s: %v", e.Action, e.Resource, e.Err)
	if e.AccessDenied() {
		msg += fmt.Sprintf(" (the AWS role lacks the IAM permission %s; add it to the role's policy)", e.Action)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// AccessDenied reports whether AWS refused the call for want of permission.
func (e *Error) AccessDenied() bool { return IsAccessDenied(e.Err) }

// Wrap describes err, the failure of the IAM action on resource; nil stays nil.
func Wrap(err error, action, resource string) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	return &Error{Action: action, Resource: resource, Code: Code(err), Err: err}
}

// Code is the AWS error code of err, or "".
func Code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// IsAccessDenied reports whether err is an authorization failure.
func IsAccessDenied(err error) bool {
	code := Code(err)
	return code == "AccessDeniedException" || code == "AccessDenied" ||
		strings.HasPrefix(code, "UnauthorizedOperation")
}
