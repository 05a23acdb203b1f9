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
