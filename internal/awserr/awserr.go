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

// IsExpired reports whether AWS refused err's call because the credentials
// that signed it had expired: a session that ended during the run.
func IsExpired(err error) bool {
	switch Code(err) {
	case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
		return true
	}
	return false
}

// Permanent reports whether no retry of err's call can succeed with the
// credentials the run holds: access denied, or credentials that expired.
// Loops that wait (the watch, the agents' reconnect) stop on it instead of
// retrying until their timeout.
func Permanent(err error) bool { return IsAccessDenied(err) || IsExpired(err) }

// Hints for credentials that expired during a run.
const (
	// ExpiredStaticHint is for credentials the run cannot renew: those of the
	// environment, as aws-actions/configure-aws-credentials exports them.
	ExpiredStaticHint = "the AWS credentials expired during the run: they were fixed when the job started, and a rotation that waits outlived them; " +
		"raise the role session duration (aws-actions/configure-aws-credentials `role-duration-seconds`, within the role's maximum session duration), " +
		"or use this action's `role-to-assume` input, which renews the credentials as they expire"
	// ExpiredAssumedHint is for the credentials of role-to-assume, which the
	// run renews: one that still expired means the renewal failed.
	ExpiredAssumedHint = "the credentials of role-to-assume expired and were not renewed in time; check the role's maximum session duration and the job's clock"
)

// ExplainExpired adds to err what to do when its call failed on expired
// credentials; renewing says whether the run's credentials renew themselves
// (role-to-assume). Any other error, and nil, are returned as they are.
func ExplainExpired(err error, renewing bool) error {
	if err == nil || !IsExpired(err) {
		return err
	}
	var already *expiredError
	if errors.As(err, &already) {
		return err
	}
	hint := ExpiredStaticHint
	if renewing {
		hint = ExpiredAssumedHint
	}
	return &expiredError{err: err, hint: hint}
}

type expiredError struct {
	err  error
	hint string
}

func (e *expiredError) Error() string { return fmt.Sprintf("%v (%s)", e.err, e.hint) }
func (e *expiredError) Unwrap() error { return e.err }
