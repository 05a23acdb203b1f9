package awserr

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

func TestWrapNamesActionResourceAndMissingPermission(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: x is not authorized"}
	err := Wrap(fmt.Errorf("operation error: %w", denied), "ecs:UpdateService", "service web in cluster prod")
	msg := err.Error()
	for _, want := range []string{"ecs:UpdateService on service web in cluster prod", "AccessDeniedException", "lacks the IAM permission ecs:UpdateService"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	var api smithy.APIError
	if !errors.As(err, &api) || !IsAccessDenied(err) {
		t.Error("the wrapped error must still unwrap to the API error")
	}
	if Wrap(err, "ecs:Other", "elsewhere") != err {
		t.Error("an error already described must not be described twice")
	}
}

func TestWrapOtherErrorsHasNoPermissionHint(t *testing.T) {
	err := Wrap(&smithy.GenericAPIError{Code: "ServiceNotFoundException", Message: "Service not found."}, "ecs:UpdateService", "service web")
	if strings.Contains(err.Error(), "IAM permission") || Wrap(nil, "a", "b") != nil {
		t.Errorf("unexpected: %v", err)
	}
}

func TestExpiredCredentialsSayWhatToDo(t *testing.T) {
	for _, code := range []string{"ExpiredToken", "ExpiredTokenException", "RequestExpired"} {
		api := &smithy.GenericAPIError{Code: code, Message: "The security token included in the request is expired"}
		wrapped := Wrap(fmt.Errorf("operation error ECS: ListTasks: %w", api), "ecs:ListTasks", "tasks of service web")
		if !IsExpired(wrapped) || !Permanent(wrapped) || IsAccessDenied(wrapped) {
			t.Fatalf("%s: IsExpired %v, Permanent %v", code, IsExpired(wrapped), Permanent(wrapped))
		}
		static := ExplainExpired(wrapped, false).Error()
		for _, want := range []string{"ecs:ListTasks on tasks of service web", code, "role-duration-seconds", "role-to-assume", "expired"} {
			if !strings.Contains(static, want) {
				t.Errorf("%s, static credentials: %q lacks %q", code, static, want)
			}
		}
		if strings.Contains(static, "IAM permission") {
			t.Errorf("an expiry is no missing permission: %q", static)
		}
		assumed := ExplainExpired(wrapped, true).Error()
		if strings.Contains(assumed, "role-duration-seconds") || !strings.Contains(assumed, "role-to-assume expired") {
			t.Errorf("%s, role-to-assume: %q", code, assumed)
		}
		var got smithy.APIError
		if e := ExplainExpired(wrapped, false); !errors.As(e, &got) || got.ErrorCode() != code || ExplainExpired(e, false) != e {
			t.Errorf("%s: the explained error must unwrap to the API error and be explained once", code)
		}
	}
}

func TestExplainExpiredLeavesOtherErrorsAlone(t *testing.T) {
	other := Wrap(&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}, "ecs:ListTasks", "x")
	if ExplainExpired(other, false) != other || ExplainExpired(nil, false) != nil || Permanent(other) {
		t.Error("a throttle is neither expired nor permanent")
	}
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}
	if !Permanent(denied) || ExplainExpired(denied, false) != error(denied) {
		t.Error("a denial is permanent and has its own hint")
	}
}
