package awsfake

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// This file is what an EC2 instance's own processes talk to: IMDSv2 (one
// per instance, under IMDSPathPrefix+<instance id>) and SSM GetParameter
// signed with the instance role's credentials. GetParameter verifies the
// SigV4 signature as AWS does, so a script that signs by hand is tested
// against the real algorithm.

// IMDSPathPrefix starts every instance's IMDS: an instance's
// AWS_EC2_METADATA_SERVICE_ENDPOINT is <server URL>/imds/<instance id>.
const IMDSPathPrefix = "/imds/"

// InstanceRole is the instance profile role IMDS serves for one instance.
type InstanceRole struct {
	Name              string // IAM role name; "" = no instance profile (IMDS answers 404)
	AllowGetParameter bool   // the role's policies allow ssm:GetParameter
}

// InstanceParameter is a parameter as GetParameter returns it.
type InstanceParameter struct {
	Type         string // "String", "StringList" or "SecureString"
	Value        string // the plaintext value
	Version      int64
	LastModified time.Time
}

// ParameterReader gives the instance endpoints the fake's parameters.
type ParameterReader interface {
	// LookupParameter returns the parameter with this name ("/a/b" or "a").
	LookupParameter(name string) (InstanceParameter, bool)
}

// InstanceEndpointsConfig configures NewInstanceEndpoints.
type InstanceEndpointsConfig struct {
	Region     string // the region GetParameter signatures must be scoped to; default us-east-1
	AccountID  string // for ARNs; default 123456789012
	Parameters ParameterReader
	// Role says which role an instance has; false = no such instance
	// (IMDS answers 404). It is called without any lock of the endpoints held.
	Role func(instanceID string) (InstanceRole, bool)
	Now  func() time.Time // default time.Now
}

// InstanceEndpoints serves every instance's IMDSv2 and the GetParameter
// calls signed with the credentials it handed out. Use Handles to route.
type InstanceEndpoints struct {
	cfg InstanceEndpointsConfig

	mu     sync.Mutex
	tokens map[string]imdsToken    // IMDSv2 token -> its instance
	creds  map[string]*instanceKey // access key id -> credentials
	byInst map[string]*instanceKey // instance id + "/" + role -> credentials
}

type imdsToken struct {
	instanceID string
	expires    time.Time
}

type instanceKey struct {
	instanceID, role           string
	accessKeyID, secret, token string
	issued, expires            time.Time
}

// NewInstanceEndpoints returns the endpoints; cfg.Parameters and cfg.Role
// are required.
func NewInstanceEndpoints(cfg InstanceEndpointsConfig) *InstanceEndpoints {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "123456789012"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &InstanceEndpoints{cfg: cfg, tokens: map[string]imdsToken{},
		creds: map[string]*instanceKey{}, byInst: map[string]*instanceKey{}}
}

// instanceKeyPrefix starts every access key id these endpoints hand out,
// as temporary credentials' ids do at AWS.
const instanceKeyPrefix = "ASIA"

// Handles says whether r is for these endpoints: an IMDS path, or an SSM
// GetParameter signed with an instance-role key (access key id "ASIA…").
// It reads only the path and headers, so call it before reading the body.
func (e *InstanceEndpoints) Handles(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, IMDSPathPrefix) {
		return true
	}
	return r.Header.Get("X-Amz-Target") == "AmazonSSM.GetParameter" &&
		strings.HasPrefix(signingKeyIDOf(r.Header.Get("Authorization")), instanceKeyPrefix)
}

func signingKeyIDOf(authorization string) string {
	_, credential, ok := strings.Cut(authorization, "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(credential, "/")
	return id
}

// ServeHTTP answers IMDS requests under IMDSPathPrefix and SSM GetParameter
// anywhere else.
func (e *InstanceEndpoints) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, IMDSPathPrefix); ok {
		id, path, _ := strings.Cut(rest, "/")
		e.serveIMDS(w, r, id, "/"+path)
		return
	}
	e.serveSSM(w, r)
}

// ---------------------------------------------------------------- IMDS

const (
	imdsTokenHeader = "X-aws-ec2-metadata-token"
	imdsTTLHeader   = "X-aws-ec2-metadata-token-ttl-seconds"
	credentialsPath = "/latest/meta-data/iam/security-credentials/"
	credentialsLife = 6 * time.Hour
)

func (e *InstanceEndpoints) serveIMDS(w http.ResponseWriter, r *http.Request, instanceID, path string) {
	role, known := e.cfg.Role(instanceID)
	if !known {
		http.NotFound(w, r)
		return
	}
	now := e.cfg.Now()
	if path == "/latest/api/token" {
		if r.Method != http.MethodPut {
			w.Header().Set("Allow", "OPTIONS, PUT")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("X-Forwarded-For") != "" {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		ttl, err := strconv.Atoi(r.Header.Get(imdsTTLHeader))
		if err != nil || ttl < 1 || ttl > 21600 {
			http.Error(w, "Bad Request", http.StatusBadRequest)
			return
		}
		tok := randomString(base64.RawURLEncoding, 42)
		e.mu.Lock()
		e.tokens[tok] = imdsToken{instanceID: instanceID, expires: now.Add(time.Duration(ttl) * time.Second)}
		e.mu.Unlock()
		w.Header().Set(imdsTTLHeader, strconv.Itoa(ttl))
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, tok)
		return
	}
	// IMDSv1 is disabled (HttpTokens=required): every other request needs a
	// token issued by this instance's IMDS, not expired.
	e.mu.Lock()
	t, ok := e.tokens[r.Header.Get(imdsTokenHeader)]
	e.mu.Unlock()
	if !ok || t.instanceID != instanceID || !now.Before(t.expires) {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	switch {
	case path == "/latest/meta-data/instance-id":
		_, _ = io.WriteString(w, instanceID)
	case path == "/latest/meta-data/placement/region":
		_, _ = io.WriteString(w, e.cfg.Region)
	case path == credentialsPath || path == strings.TrimSuffix(credentialsPath, "/"):
		if role.Name == "" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, role.Name)
	case strings.HasPrefix(path, credentialsPath):
		if role.Name == "" || strings.TrimPrefix(path, credentialsPath) != role.Name {
			http.NotFound(w, r)
			return
		}
		k := e.credentialsFor(instanceID, role.Name, now)
		// IMDS pretty-prints this document, with " : " between name and value.
		fmt.Fprintf(w, "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : %q,\n  \"Type\" : \"AWS-HMAC\",\n"+
			"  \"AccessKeyId\" : %q,\n  \"SecretAccessKey\" : %q,\n  \"Token\" : %q,\n  \"Expiration\" : %q\n}",
			k.issued.UTC().Format(time.RFC3339), k.accessKeyID, k.secret, k.token, k.expires.UTC().Format(time.RFC3339))
	default:
		http.NotFound(w, r)
	}
}

// credentialsFor returns the instance's current credentials for role,
// issuing new ones when there are none or they expire within 15 minutes.
func (e *InstanceEndpoints) credentialsFor(instanceID, role string, now time.Time) *instanceKey {
	e.mu.Lock()
	defer e.mu.Unlock()
	if k := e.byInst[instanceID+"/"+role]; k != nil && now.Add(15*time.Minute).Before(k.expires) {
		return k
	}
	k := &instanceKey{
		instanceID:  instanceID,
		role:        role,
		accessKeyID: instanceKeyPrefix + randomString(upperAlnum{}, 16),
		// Real secrets and session tokens hold "/" and "+": so do these.
		secret:  randomString(base64.StdEncoding, 30),
		token:   "IQoJb3JpZ2luX2Vj" + randomString(base64.StdEncoding, 300),
		issued:  now,
		expires: now.Add(credentialsLife),
	}
	e.creds[k.accessKeyID] = k
	e.byInst[instanceID+"/"+role] = k
	return k
}

type stringEncoder interface{ EncodeToString([]byte) string }

type upperAlnum struct{}

func (upperAlnum) EncodeToString(b []byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(out)
}

// randomString encodes n random bytes (upperAlnum: n characters).
func randomString(enc stringEncoder, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	s := enc.EncodeToString(b)
	if _, ok := enc.(upperAlnum); ok {
		return s[:n]
	}
	return s
}

// ---------------------------------------------------------------- SSM

// instanceAPIError is an awsJson 1.1 error as SSM's front end writes it.
type instanceAPIError struct {
	status  int
	code    string
	message string // "" = no message member, as ParameterNotFound
}

func (e *InstanceEndpoints) writeSSMError(w http.ResponseWriter, ae instanceAPIError) {
	body := map[string]string{"__type": ae.code}
	if ae.message != "" {
		body["message"] = ae.message
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-ErrorType", ae.code)
	w.WriteHeader(ae.status)
	_, _ = w.Write(b)
}

func (e *InstanceEndpoints) serveSSM(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", randomRequestID())
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" {
		e.writeSSMError(w, instanceAPIError{http.StatusBadRequest, "UnknownOperationException", ""})
		return
	}
	key, ae := e.verifySigV4(r, body)
	if ae != nil {
		e.writeSSMError(w, *ae)
		return
	}
	var in struct {
		Name           *string
		WithDecryption *bool
	}
	if json.Unmarshal(body, &in) != nil {
		e.writeSSMError(w, instanceAPIError{http.StatusBadRequest, "SerializationException", "Start of structure or map found where not expected."})
		return
	}
	if in.Name == nil || *in.Name == "" {
		e.writeSSMError(w, instanceAPIError{http.StatusBadRequest, "ValidationException",
			"1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"})
		return
	}
	name := *in.Name
	arn := "arn:aws:ssm:" + e.cfg.Region + ":" + e.cfg.AccountID + ":parameter/" + strings.TrimPrefix(name, "/")
	role, known := e.cfg.Role(key.instanceID)
	if !known || role.Name != key.role || !role.AllowGetParameter {
		e.writeSSMError(w, instanceAPIError{http.StatusBadRequest, "AccessDeniedException", fmt.Sprintf(
			"User: arn:aws:sts::%s:assumed-role/%s/%s is not authorized to perform: ssm:GetParameter on resource: %s because no identity-based policy allows the ssm:GetParameter action",
			e.cfg.AccountID, key.role, key.instanceID, arn)})
		return
	}
	p, ok := e.cfg.Parameters.LookupParameter(name)
	if !ok {
		e.writeSSMError(w, instanceAPIError{http.StatusBadRequest, "ParameterNotFound", ""})
		return
	}
	value := p.Value
	if p.Type == "SecureString" && (in.WithDecryption == nil || !*in.WithDecryption) {
		// Without decryption, SSM returns the KMS ciphertext.
		sum := sha256.Sum256([]byte(p.Value))
		value = "AQICAHh" + base64.StdEncoding.EncodeToString(append([]byte("fake-kms-ciphertext:"), sum[:]...))
	}
	typ := p.Type
	if typ == "" {
		typ = "String"
	}
	out := map[string]any{"Parameter": map[string]any{
		"ARN":              arn,
		"DataType":         "text",
		"LastModifiedDate": float64(p.LastModified.UnixMilli()) / 1000,
		"Name":             name,
		"Type":             typ,
		"Value":            value,
		"Version":          max(p.Version, 1),
	}}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = w.Write(b)
}

func randomRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

const sigMismatch = "The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// verifySigV4 checks r's Authorization header as AWS does: known key,
// session token, date within 5 minutes, credential scope, then the
// signature recomputed with the SDK's signer over what was received (the
// method, path, query, the signed headers and the body's hash).
func (e *InstanceEndpoints) verifySigV4(r *http.Request, body []byte) (*instanceKey, *instanceAPIError) {
	bad := func(code, format string, args ...any) (*instanceKey, *instanceAPIError) {
		return nil, &instanceAPIError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
	}
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return bad("MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	algo, rest, _ := strings.Cut(authz, " ")
	if algo != "AWS4-HMAC-SHA256" {
		return bad("IncompleteSignatureException", "Unsupported AWS 'algorithm': '%s'", algo)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[k] = v
		}
	}
	credential, signedHeaders, signature := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if credential == "" || signedHeaders == "" || signature == "" {
		return bad("IncompleteSignatureException",
			"Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=%s", algo)
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 {
		return bad("IncompleteSignatureException", "Credential should have 5 parts, got %d", len(scope))
	}
	e.mu.Lock()
	key := e.creds[scope[0]]
	e.mu.Unlock()
	if key == nil {
		return bad("UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	now := e.cfg.Now()
	if r.Header.Get("X-Amz-Security-Token") != key.token {
		return bad("UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	if !now.Before(key.expires) {
		return bad("ExpiredTokenException", "The security token included in the request is expired")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signedAt, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return bad("IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if d := now.Sub(signedAt); d > 5*time.Minute || d < -5*time.Minute {
		return bad("InvalidSignatureException", "Signature expired: %s is now earlier than %s (%s - 5 min.)",
			amzDate, now.UTC().Add(-5*time.Minute).Format("20060102T150405Z"), now.UTC().Format("20060102T150405Z"))
	}
	if scope[1] != amzDate[:8] {
		return bad("InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			scope[1], amzDate[:8], amzDate)
	}
	if scope[2] != e.cfg.Region {
		return bad("InvalidSignatureException", "Credential should be scoped to a valid region. ")
	}
	if scope[3] != "ssm" {
		return bad("InvalidSignatureException", "Credential should be scoped to correct service: 'ssm'. ")
	}
	if scope[4] != "aws4_request" {
		return bad("InvalidSignatureException", "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. ", scope[4])
	}
	names := strings.Split(signedHeaders, ";")
	hasHost := false
	for _, n := range names {
		hasHost = hasHost || n == "host"
	}
	if !hasHost {
		return bad("InvalidSignatureException", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}

	// Rebuild the request with only what was signed, and sign it again.
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	clone, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), nil)
	if err != nil {
		return bad("InvalidSignatureException", "%s", sigMismatch)
	}
	clone.URL.Path, clone.URL.RawPath, clone.URL.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	clone.Host = r.Host
	creds := aws.Credentials{AccessKeyID: key.accessKeyID, SecretAccessKey: key.secret}
	tokenSigned := false
	for _, n := range names {
		switch n {
		case "host":
		case "content-length":
			clone.ContentLength = r.ContentLength
		case "x-amz-security-token":
			tokenSigned = true
		default:
			for _, v := range r.Header.Values(n) {
				clone.Header.Add(n, v)
			}
		}
	}
	if tokenSigned {
		creds.SessionToken = key.token
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), creds, clone, hex.EncodeToString(sum[:]), "ssm", e.cfg.Region, signedAt)
	if err != nil {
		return bad("InvalidSignatureException", "%s", sigMismatch)
	}
	_, recomputed, _ := strings.Cut(clone.Header.Get("Authorization"), " ")
	want := map[string]string{}
	for _, part := range strings.Split(recomputed, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
			want[k] = v
		}
	}
	// A header list the SDK's signer would not produce (it never signs
	// User-Agent, for one) cannot be verified here: refuse it rather than
	// accept an unchecked signature.
	if want["SignedHeaders"] != signedHeaders || !hmac.Equal([]byte(want["Signature"]), []byte(signature)) {
		return bad("InvalidSignatureException", "%s", sigMismatch)
	}
	return key, nil
}
