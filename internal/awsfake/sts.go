package awsfake

import (
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"
	"time"
)

var stsOps = map[string]queryHandler{
	"GetCallerIdentity":         stsGetCallerIdentity,
	"AssumeRoleWithWebIdentity": stsAssumeRoleWithWebIdentity,
}

type getCallerIdentityResult struct {
	XMLName xml.Name `xml:"GetCallerIdentityResult"`
	Account string   `xml:"Account"`
	Arn     string   `xml:"Arn"`
	UserId  string   `xml:"UserId"`
}

func stsGetCallerIdentity(s *Server, _ url.Values, _ time.Time) (any, error) {
	return getCallerIdentityResult{
		Account: s.opts.AccountID,
		Arn:     s.callerArn(),
		UserId:  "AROAFAKECIROLE000000:session",
	}, nil
}

type assumeRoleWithWebIdentityResult struct {
	XMLName         xml.Name `xml:"AssumeRoleWithWebIdentityResult"`
	AssumedRoleUser struct {
		Arn           string `xml:"Arn"`
		AssumedRoleId string `xml:"AssumedRoleId"`
	} `xml:"AssumedRoleUser"`
	Audience    string `xml:"Audience"`
	Credentials struct {
		AccessKeyId     string `xml:"AccessKeyId"`
		Expiration      string `xml:"Expiration"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
	} `xml:"Credentials"`
	Provider                    string `xml:"Provider"`
	SubjectFromWebIdentityToken string `xml:"SubjectFromWebIdentityToken"`
}

func stsAssumeRoleWithWebIdentity(s *Server, form url.Values, now time.Time) (any, error) {
	roleArn, session, token := form.Get("RoleArn"), form.Get("RoleSessionName"), form.Get("WebIdentityToken")
	if roleArn == "" || session == "" {
		return nil, errorf("ValidationError", "RoleArn and RoleSessionName are required")
	}
	if token == "" {
		return nil, errorf("InvalidIdentityToken",
			"The web identity token that was passed could not be validated by Amazon Web Services. Get a new identity token from the identity provider and then retry the request.")
	}
	duration := time.Hour
	if s.opts.STSSessionDuration > 0 {
		duration = s.opts.STSSessionDuration
	}
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			return nil, errorf("ValidationError", "1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", d)
		}
		duration = time.Duration(n) * time.Second
	}
	roleName := roleArn[strings.LastIndex(roleArn, "/")+1:]
	var out assumeRoleWithWebIdentityResult
	out.AssumedRoleUser.Arn = "arn:aws:sts::" + s.opts.AccountID + ":assumed-role/" + roleName + "/" + session
	out.AssumedRoleUser.AssumedRoleId = "AROAFAKE" + strings.ToUpper(randomHex(12)) + ":" + session
	out.Audience = "sts.amazonaws.com"
	out.Credentials.AccessKeyId = "ASIAFAKE" + strings.ToUpper(randomHex(12))
	out.Credentials.SecretAccessKey = randomHex(40)
	out.Credentials.SessionToken = "FwoGZXIvYXdzEFAKE" + randomHex(64)
	// The wire carries whole seconds: the key expires when its holder
	// reads that it does, not later.
	expires := now.Add(duration).UTC().Truncate(time.Second)
	out.Credentials.Expiration = expires.Format(time.RFC3339)
	if s.issued == nil {
		s.issued = map[string]time.Time{}
	}
	s.issued[out.Credentials.AccessKeyId] = expires
	out.Provider = "token.actions.githubusercontent.com"
	out.SubjectFromWebIdentityToken = "repo:example/example:ref:refs/heads/main"
	return out, nil
}

// expiredCredentials refuses a call signed with credentials the fake's STS
// issued whose session has ended, as AWS does.
func (s *Server) expiredCredentials(keyID string, req *request) *apiError {
	if keyID == "" {
		return nil
	}
	s.mu.Lock()
	expires, ok := s.issued[keyID]
	s.mu.Unlock()
	if !ok || time.Now().Before(expires) {
		return nil
	}
	return expiredTokenError(req)
}

// ExpiredCalls counts the calls refused because their credentials had
// expired, by a Fault or by the session's end.
func (s *Server) ExpiredCalls() int {
	n := 0
	for _, c := range s.Calls() {
		if c.ErrorCode == "ExpiredTokenException" || c.ErrorCode == "ExpiredToken" {
			n++
		}
	}
	return n
}
