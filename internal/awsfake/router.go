package awsfake

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	smithy "github.com/aws/smithy-go"
)

// X-Amz-Target prefixes of the awsJson 1.1 services, as the SDK sends them.
var jsonServices = map[string]string{
	"AmazonEC2ContainerServiceV20141113": "ecs",
	"secretsmanager":                     "secretsmanager",
	"AmazonSSM":                          "ssm",
}

// messageKey is the member name each service's modeled errors use for
// their message; the SDK decodes modeled errors by exact member name.
var messageKey = map[string]string{
	"ecs":            "message",
	"secretsmanager": "Message",
	"ssm":            "Message",
}

type jsonHandler func(s *Server, body []byte, now time.Time) (smithy.Serializable, error)
type queryHandler func(s *Server, form url.Values, now time.Time) (any, error)

// jsonOps lists what each JSON service implements; anything else answers
// UnknownOperationException rather than pretend to work.
var jsonOps = map[string]map[string]jsonHandler{
	"ecs":            ecsOps,
	"secretsmanager": secretsOps,
	"ssm":            ssmOps,
}

// request is one AWS call, whichever protocol carried it.
type request struct {
	service, op string
	query       bool
	body        []byte
	form        url.Values
	input       json.RawMessage
}

func classify(r *http.Request, body []byte) *request {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		req := &request{body: body, input: jsonInput(body)}
		prefix, op, ok := strings.Cut(target, ".")
		if svc, known := jsonServices[prefix]; known && ok {
			req.service, req.op = svc, op
		} else {
			req.op = target
		}
		return req
	}
	// STS speaks the query protocol: a form-encoded POST naming its Action.
	form, err := url.ParseQuery(string(body))
	if err != nil {
		form = url.Values{}
	}
	in := map[string]string{}
	for k, v := range form {
		in[k] = v[0]
	}
	raw, _ := json.Marshal(in)
	return &request{service: "sts", op: form.Get("Action"), query: true, form: form, input: raw}
}

func jsonInput(body []byte) json.RawMessage {
	if len(strings.TrimSpace(string(body))) == 0 || !json.Valid(body) {
		return json.RawMessage("{}")
	}
	return append(json.RawMessage(nil), body...)
}

// ServeHTTP answers every AWS service on one port, as AWS_ENDPOINT_URL
// sends them all to one place.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	side := s.instanceSideFor(r)
	if strings.HasPrefix(r.URL.Path, "/imds/") {
		s.serveInstanceSide(side, w, r) // IMDS requests are not AWS API calls: not recorded
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	w.Header().Set("x-amzn-RequestId", newUUID())
	req := classify(r, body)
	keyID := signingKeyID(r.Header.Get("Authorization"))
	var code string
	if s.quotaThrottled(r) {
		// A throughput quota (Parameter Store's, ECS's UpdateService
		// bucket), ahead of the instance side and of authorisation.
		e := errorf("ThrottlingException", "Rate exceeded")
		s.writeError(w, req, e)
		code = e.Code
	} else if side != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &errorTypeRecorder{ResponseWriter: w}
		s.serveInstanceSide(side, rec, r)
		code = rec.errorType()
	} else {
		code = s.serve(w, r, req)
	}
	s.record(Call{Service: req.service, Operation: req.op, Input: req.input, ErrorCode: code, At: at, AccessKeyID: keyID})
	if code == LostAnswerCode {
		// Recorded first, so that the log has it before the client's retry.
		dropConnection(w)
	}
}

// instanceSideFor is the instance side when r is for it (see
// InstanceSide), else nil.
func (s *Server) instanceSideFor(r *http.Request) InstanceSide {
	s.mu.Lock()
	side := s.instanceSide
	s.mu.Unlock()
	if side == nil || !side.Handles(r) {
		return nil
	}
	return side
}

func (s *Server) serveInstanceSide(side InstanceSide, w http.ResponseWriter, r *http.Request) {
	if side == nil {
		http.Error(w, "awsfake: no instance side (IMDS) is mounted; see MountInstanceSide", http.StatusNotFound)
		return
	}
	side.ServeHTTP(w, r)
}

// errorTypeRecorder notes the error an instance-side answer carried, for
// the call log.
type errorTypeRecorder struct {
	http.ResponseWriter
	status int
}

func (e *errorTypeRecorder) WriteHeader(code int) {
	if e.status == 0 {
		e.status = code
	}
	e.ResponseWriter.WriteHeader(code)
}

func (e *errorTypeRecorder) errorType() string {
	if t := e.Header().Get("x-amzn-ErrorType"); t != "" {
		t, _, _ = strings.Cut(t, ":")
		return t
	}
	if e.status >= 400 {
		return http.StatusText(e.status)
	}
	return ""
}

// signingKeyID reads the access key id from a SigV4 Authorization header:
// "AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, ...".
func signingKeyID(authorization string) string {
	_, credential, ok := strings.Cut(authorization, "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(credential, "/")
	return id
}

// serve returns the error code it answered with, "" on success, or
// LostAnswerCode when it wrote nothing because the answer is to be lost.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, req *request) string {
	fail := func(e *apiError) string {
		s.writeError(w, req, e)
		return e.Code
	}
	if req.service == "" || req.op == "" {
		return fail(errorf("UnknownOperationException", "Unknown operation %s", req.op))
	}
	// AssumeRoleWithWebIdentity is unsigned by design (the token is the
	// credential); everything else must carry a SigV4 signature.
	unsigned := req.service == "sts" && req.op == "AssumeRoleWithWebIdentity"
	if !unsigned && !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		if req.query {
			return fail(&apiError{Status: http.StatusForbidden, Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token"})
		}
		return fail(errorf("MissingAuthenticationTokenException", "Missing Authentication Token"))
	}
	if d := s.latencyFor(req.op); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return "RequestCanceled"
		}
	}
	if e := s.expiredCredentials(signingKeyID(r.Header.Get("Authorization")), req); e != nil {
		return fail(e)
	}
	if e, reset := s.persistentFault(req); reset {
		resetConnection(w)
		return string(ConnectionReset)
	} else if e != nil {
		return fail(e)
	}
	if e := s.injectFault(req); e != nil {
		return fail(e)
	}

	if req.query {
		h, ok := stsOps[req.op]
		if !ok {
			return fail(errorf("InvalidAction", "Could not find operation %s for version 2011-06-15", req.op))
		}
		now := s.lock()
		out, err := h(s, req.form, now)
		s.unlock()
		if err != nil {
			return fail(asAPIError(err))
		}
		if s.loseAnswer(req) {
			return LostAnswerCode
		}
		s.writeXML(w, req.op, out)
		return ""
	}

	h, ok := jsonOps[req.service][req.op]
	if !ok {
		return fail(errorf("UnknownOperationException", "Unknown operation %s", req.op))
	}
	now := s.lock()
	out, err := h(s, req.body, now)
	s.unlock()
	if err != nil {
		return fail(asAPIError(err))
	}
	if s.loseAnswer(req) {
		return LostAnswerCode // ServeHTTP drops the connection once the call is recorded
	}
	// The call took effect; a slow reply makes the caller give up before
	// it learns so, as a cancelled job does.
	if d := s.replyLatencyFor(req.op); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return "RequestCanceled"
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = w.Write(marshalShape(out))
	return ""
}

func (s *Server) writeError(w http.ResponseWriter, req *request, e *apiError) {
	if req.query {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(e.Status)
		_, _ = io.WriteString(w, stsErrorXML(e, w.Header().Get("x-amzn-RequestId")))
		return
	}
	key := messageKey[req.service]
	if key == "" {
		key = "message"
	}
	body, _ := json.Marshal(map[string]string{"__type": e.Code, key: e.Message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// writeXML wraps a query-protocol result (a struct named <OpResult>) the
// way STS does: <OpResponse><OpResult>...</OpResult><ResponseMetadata/>.
func (s *Server) writeXML(w http.ResponseWriter, op string, result any) {
	inner, err := xml.Marshal(result)
	if err != nil {
		s.writeError(w, &request{query: true}, asAPIError(err))
		return
	}
	var sb strings.Builder
	sb.WriteString(`<` + op + `Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`)
	sb.Write(inner)
	sb.WriteString(`<ResponseMetadata><RequestId>` + w.Header().Get("x-amzn-RequestId") + `</RequestId></ResponseMetadata>`)
	sb.WriteString(`</` + op + `Response>`)
	w.Header().Set("Content-Type", "text/xml")
	_, _ = io.WriteString(w, sb.String())
}

func stsErrorXML(e *apiError, reqID string) string {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	var msg strings.Builder
	_ = xml.EscapeText(&msg, []byte(e.Message))
	return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>` + typ +
		`</Type><Code>` + e.Code + `</Code><Message>` + msg.String() + `</Message></Error><RequestId>` +
		reqID + `</RequestId></ErrorResponse>`
}
