package awsfake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	smithy "github.com/aws/smithy-go"
)

type instanceFixture struct {
	srv   *httptest.Server
	ep    *InstanceEndpoints
	mu    sync.Mutex
	roles map[string]InstanceRole
	param map[string]InstanceParameter
}

func (f *instanceFixture) LookupParameter(name string) (InstanceParameter, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.param[name]
	return p, ok
}

func newInstanceFixture(t *testing.T) *instanceFixture {
	t.Helper()
	f := &instanceFixture{
		roles: map[string]InstanceRole{
			"i-allowed": {Name: "ecsInstanceRole", AllowGetParameter: true},
			"i-denied":  {Name: "dhmcRole"},
			"i-norole":  {},
		},
		param: map[string]InstanceParameter{
			"/ecs-registry-rotate/run-1": {Type: "SecureString", Value: "c2VjcmV0", Version: 1, LastModified: time.Unix(1700000000, 0)},
		},
	}
	f.ep = NewInstanceEndpoints(InstanceEndpointsConfig{Region: "eu-west-1", Parameters: f,
		Role: func(id string) (InstanceRole, bool) {
			f.mu.Lock()
			defer f.mu.Unlock()
			r, ok := f.roles[id]
			return r, ok
		}})
	f.srv = httptest.NewServer(f.ep)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *instanceFixture) do(t *testing.T, method, path string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// creds walks IMDSv2 as the SDK and the script do.
func (f *instanceFixture) creds(t *testing.T, instanceID string) (ak, sk, token string) {
	t.Helper()
	base := IMDSPathPrefix + instanceID
	code, tok := f.do(t, http.MethodPut, base+"/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
	if code != 200 {
		t.Fatalf("token: %d", code)
	}
	h := map[string]string{"X-aws-ec2-metadata-token": tok}
	code, role := f.do(t, http.MethodGet, base+"/latest/meta-data/iam/security-credentials/", h)
	if code != 200 {
		t.Fatalf("role: %d", code)
	}
	code, body := f.do(t, http.MethodGet, base+"/latest/meta-data/iam/security-credentials/"+role, h)
	if code != 200 {
		t.Fatalf("credentials: %d", code)
	}
	var c struct{ Code, AccessKeyId, SecretAccessKey, Token string }
	if err := json.Unmarshal([]byte(body), &c); err != nil || c.Code != "Success" {
		t.Fatalf("credentials %q: %v", body, err)
	}
	return c.AccessKeyId, c.SecretAccessKey, c.Token
}

func (f *instanceFixture) client(ak, sk, token string) *ssm.Client {
	return ssm.New(ssm.Options{Region: "eu-west-1", BaseEndpoint: aws.String(f.srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, token)})
}

func TestInstanceIMDSv2(t *testing.T) {
	f := newInstanceFixture(t)
	if code, _ := f.do(t, http.MethodGet, "/imds/i-allowed/latest/meta-data/iam/security-credentials/", nil); code != 401 {
		t.Errorf("IMDSv1 request: %d, want 401", code)
	}
	if code, _ := f.do(t, http.MethodPut, "/imds/i-allowed/latest/api/token", nil); code != 400 {
		t.Errorf("token without TTL: %d, want 400", code)
	}
	_, other := f.do(t, http.MethodPut, "/imds/i-denied/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
	if code, _ := f.do(t, http.MethodGet, "/imds/i-allowed/latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": other}); code != 401 {
		t.Errorf("another instance's token: %d, want 401", code)
	}
	_, tok := f.do(t, http.MethodPut, "/imds/i-norole/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
	if code, _ := f.do(t, http.MethodGet, "/imds/i-norole/latest/meta-data/iam/security-credentials/", map[string]string{"X-aws-ec2-metadata-token": tok}); code != 404 {
		t.Errorf("no instance profile: %d, want 404", code)
	}
	if code, _ := f.do(t, http.MethodPut, "/imds/i-unknown/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"}); code != 404 {
		t.Errorf("unknown instance: %d, want 404", code)
	}
	ak, sk, token := f.creds(t, "i-allowed")
	if !strings.HasPrefix(ak, "ASIA") || len(ak) != 20 || sk == "" || token == "" {
		t.Errorf("credentials %q %q %q", ak, sk, token)
	}
	if ak2, _, _ := f.creds(t, "i-allowed"); ak2 != ak {
		t.Errorf("credentials changed between two reads: %s, %s", ak, ak2)
	}
	if ak3, _, _ := f.creds(t, "i-denied"); ak3 == ak {
		t.Error("two instances share credentials")
	}
}

func TestInstanceGetParameterWithSDK(t *testing.T) {
	f := newInstanceFixture(t)
	ctx := context.Background()
	ak, sk, token := f.creds(t, "i-allowed")
	out, err := f.client(ak, sk, token).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/ecs-registry-rotate/run-1"), WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Parameter.Value); got != "c2VjcmV0" || out.Parameter.Type != ssmtypes.ParameterTypeSecureString {
		t.Errorf("value %q type %s", got, out.Parameter.Type)
	}
	out, err = f.client(ak, sk, token).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/ecs-registry-rotate/run-1")})
	if err != nil || aws.ToString(out.Parameter.Value) == "c2VjcmV0" {
		t.Errorf("without decryption: %v, the plaintext came back", err)
	}

	_, err = f.client(ak, sk, token).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/nope")})
	var nf *ssmtypes.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Errorf("missing parameter: %v", err)
	}

	dak, dsk, dtoken := f.creds(t, "i-denied")
	_, err = f.client(dak, dsk, dtoken).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/ecs-registry-rotate/run-1"), WithDecryption: aws.Bool(true)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || !strings.Contains(ae.ErrorMessage(), "ssm:GetParameter") ||
		!strings.Contains(ae.ErrorMessage(), "assumed-role/dhmcRole/i-denied") {
		t.Errorf("denied role: %v", err)
	}

	for name, c := range map[string]*ssm.Client{
		"wrong secret":    f.client(ak, sk+"x", token),
		"wrong token":     f.client(ak, sk, token+"x"),
		"unknown key":     f.client("ASIAUNKNOWNUNKNOWN00", sk, token),
		"no token":        f.client(ak, sk, ""),
		"another service": ssm.New(ssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.srv.URL), RetryMaxAttempts: 1, Credentials: credentials.NewStaticCredentialsProvider(ak, sk, token)}),
	} {
		_, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/ecs-registry-rotate/run-1")})
		want := map[string]string{"wrong secret": "InvalidSignatureException", "wrong token": "UnrecognizedClientException",
			"unknown key": "UnrecognizedClientException", "no token": "UnrecognizedClientException", "another service": "InvalidSignatureException"}[name]
		if !errors.As(err, &ae) || ae.ErrorCode() != want {
			t.Errorf("%s: %v, want %s", name, err, want)
		}
	}
}

// signedRequest is a GetParameter request signed by the SDK's signer, for
// tampering with.
func signedRequest(t *testing.T, f *instanceFixture, ak, sk, token string, body string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	sum := sha256.Sum256([]byte(body))
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk, SessionToken: token},
		req, hex.EncodeToString(sum[:]), "ssm", "eu-west-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func sendRaw(t *testing.T, req *http.Request) (int, map[string]string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func TestInstanceGetParameterSignatureChecks(t *testing.T) {
	f := newInstanceFixture(t)
	ak, sk, token := f.creds(t, "i-allowed")
	body := `{"Name":"/ecs-registry-rotate/run-1","WithDecryption":true}`

	if code, out := sendRaw(t, signedRequest(t, f, ak, sk, token, body, time.Now())); code != 200 {
		t.Fatalf("untampered: %d %v", code, out)
	}
	if !f.ep.Handles(signedRequest(t, f, ak, sk, token, body, time.Now())) {
		t.Error("Handles: false for an instance-role GetParameter")
	}
	if f.ep.Handles(signedRequest(t, f, "AKIDFAKEEXAMPLE00000", sk, token, body, time.Now())) {
		t.Error("Handles: true for a GetParameter signed with a long-term key")
	}

	tampered := signedRequest(t, f, ak, sk, token, body, time.Now())
	other := `{"Name":"/ecs-registry-rotate/run-2","WithDecryption":true}`
	tampered.Body, tampered.ContentLength = io.NopCloser(strings.NewReader(other)), int64(len(other))
	if code, out := sendRaw(t, tampered); code != 400 || out["__type"] != "InvalidSignatureException" {
		t.Errorf("tampered body: %d %v", code, out)
	}

	header := signedRequest(t, f, ak, sk, token, body, time.Now())
	header.Header.Set("Content-Type", "application/json")
	if code, out := sendRaw(t, header); code != 400 || out["__type"] != "InvalidSignatureException" {
		t.Errorf("tampered signed header: %d %v", code, out)
	}

	old := signedRequest(t, f, ak, sk, token, body, time.Now().Add(-10*time.Minute))
	if code, out := sendRaw(t, old); code != 400 || out["__type"] != "InvalidSignatureException" || !strings.HasPrefix(out["message"], "Signature expired") {
		t.Errorf("old signature: %d %v", code, out)
	}

	unsigned, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/", bytes.NewReader([]byte(body)))
	unsigned.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	if code, out := sendRaw(t, unsigned); code != 400 || out["__type"] != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %d %v", code, out)
	}
}
