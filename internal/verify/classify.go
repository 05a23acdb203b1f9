package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// classify maps an error from the library to a status. An HTTP answer is
// looked at first: the ping error that the library returns for an
// http-or-https registry joins two errors, and a status code in either one
// means the registry was reached.
func classify(err error) Status {
	if code := httpStatus(err); code != 0 {
		switch code {
		case http.StatusUnauthorized, http.StatusForbidden:
			return StatusUnauthorized
		case http.StatusNotFound:
			return StatusNotFound
		default:
			return StatusError
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || isNetwork(err) {
		return StatusUnreachable
	}
	return StatusError
}

func httpStatus(err error) int {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode
	}
	return 0
}

// isNetwork reports failures below HTTP. A *url.Error is one too: the client
// returns it only when no response arrived.
func isNetwork(err error) bool {
	var (
		netErr   net.Error
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
	)
	return errors.As(err, &netErr) || errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify) || errors.As(err, &record)
}

const maxCause = 240

// cause is the shortest text that still tells a human what the registry or
// the network said: an HTTP status and the registry's error code, or the
// innermost network error, without the request URL around it. It is scrubbed
// before it is cut short, so that no cut can leave half a password behind.
func (r *run) cause(err error) string {
	var (
		terr   *transport.Error
		dnsErr *net.DNSError
		opErr  *net.OpError
		urlErr *url.Error
	)
	var text string
	switch {
	case errors.As(err, &terr):
		text = httpCause(terr)
	case errors.Is(err, context.DeadlineExceeded):
		text = fmt.Sprintf("no answer within %s", r.opts.Timeout)
	case errors.As(err, &dnsErr):
		text = dnsErr.Error()
	case errors.As(err, &opErr):
		text = opErr.Error()
	case errors.As(err, &urlErr):
		text = urlErr.Err.Error()
	default:
		text = err.Error()
	}
	text = r.scrub.String(text)
	if runes := []rune(text); len(runes) > maxCause {
		text = string(runes[:maxCause]) + "..."
	}
	return text
}

// httpCause keeps the registry's error code and message, or the raw body
// when the server did not use the registry error format (a token realm's
// `{"details": ...}`, a proxy's page), but never the request URL.
func httpCause(terr *transport.Error) string {
	if len(terr.Errors) > 0 {
		d := terr.Errors[0]
		return strings.TrimSuffix(fmt.Sprintf("HTTP %d %s: %s", terr.StatusCode, d.Code, strings.TrimSpace(d.Message)), ": ")
	}
	bare := *terr
	bare.Request = nil
	return "HTTP " + strings.Join(strings.Fields(strings.TrimPrefix(bare.Error(), "unexpected status code ")), " ")
}
