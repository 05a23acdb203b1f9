package script_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/rand"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// runFunctions runs code in bash after the script's function definitions
// (everything before its main section), with LC_ALL=C as the script sets
// it, and returns stdout.
func runFunctions(t *testing.T, code string, env ...string) string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		testenv.SkipMissing(t, "bash is not installed (Debian package bash): the instance script cannot be tested")
	}
	main := strings.LastIndex(script.Body, "\ncheck_params\n")
	if main < 0 {
		t.Fatal("rotate.sh has no main section starting with check_params")
	}
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Scale(60*time.Second))
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-c", script.Body[:main+1]+code)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bash: %v\n%s", err, stderr.String())
	}
	return stdout.String()
}

// TestSHA256InBash: the script's SHA-256 and HMAC-SHA256, which sign the
// GetParameter request, agree with Go's at every length around the block
// boundaries, for long inputs (a session token makes the canonical request
// over 1 KB), for RFC 4231's vectors (a key over 64 bytes included) and
// for random keys; text_hex spells every byte but NUL.
func TestSHA256InBash(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var msgs []string
	for n := 0; n <= 200; n++ {
		b := make([]byte, n)
		rng.Read(b)
		msgs = append(msgs, hex.EncodeToString(b))
	}
	for _, n := range []int{511, 512, 1000, 1500} {
		b := make([]byte, n)
		rng.Read(b)
		msgs = append(msgs, hex.EncodeToString(b))
	}
	type mac struct{ key, data string }
	macs := []mac{
		// RFC 4231 test cases 1, 2, 3, 4, 6 and 7.
		{strings.Repeat("0b", 20), hex.EncodeToString([]byte("Hi There"))},
		{hex.EncodeToString([]byte("Jefe")), hex.EncodeToString([]byte("what do ya want for nothing?"))},
		{strings.Repeat("aa", 20), strings.Repeat("dd", 50)},
		{"0102030405060708090a0b0c0d0e0f10111213141516171819", strings.Repeat("cd", 50)},
		{strings.Repeat("aa", 131), hex.EncodeToString([]byte("Test Using Larger Than Block-Size Key - Hash Key First"))},
		{strings.Repeat("aa", 131), hex.EncodeToString([]byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."))},
	}
	for _, n := range []int{0, 1, 32, 44, 63, 64, 65, 100} {
		k, d := make([]byte, n), make([]byte, 2*n+7)
		rng.Read(k)
		rng.Read(d)
		macs = append(macs, mac{hex.EncodeToString(k), hex.EncodeToString(d)})
	}
	var text strings.Builder
	for b := 1; b < 256; b++ {
		text.WriteByte(byte(b))
	}
	var macArgs []string
	for _, m := range macs {
		macArgs = append(macArgs, m.key, m.data)
	}
	out := runFunctions(t, `
for m in $MSGS; do [[ $m == - ]] && m=''; sha256 "$m"; printf '%s\n' "$SHA"; done
set -- $MACS
while (($# > 0)); do k=$1 d=$2; shift 2; [[ $k == - ]] && k=''; hmac "$k" "$d"; printf '%s\n' "$MAC"; done
text_hex "$TEXT"; printf '%s\n' "$HEX"
`, "MSGS="+strings.Join(dash(msgs), " "), "MACS="+strings.Join(dash(macArgs), " "), "TEXT="+text.String())
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(msgs)+len(macs)+1 {
		t.Fatalf("%d lines of output, want %d", len(lines), len(msgs)+len(macs)+1)
	}
	for i, m := range msgs {
		b, _ := hex.DecodeString(m)
		if want := sha256.Sum256(b); lines[i] != hex.EncodeToString(want[:]) {
			t.Errorf("sha256 of %d bytes: %s, want %x", len(b), lines[i], want)
		}
	}
	for i, m := range macs {
		k, _ := hex.DecodeString(m.key)
		d, _ := hex.DecodeString(m.data)
		h := hmac.New(sha256.New, k)
		h.Write(d)
		if got, want := lines[len(msgs)+i], hex.EncodeToString(h.Sum(nil)); got != want {
			t.Errorf("hmac with a %d-byte key, %d bytes of data: %s, want %s", len(k), len(d), got, want)
		}
	}
	if got, want := lines[len(lines)-1], hex.EncodeToString([]byte(text.String())); got != want {
		t.Errorf("text_hex of bytes 1-255:\n%s, want\n%s", got, want)
	}
}

// dash stands "-" for an empty word, which word splitting would drop.
func dash(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = w
		if w == "" {
			out[i] = "-"
		}
	}
	return out
}

// TestJSONFieldAndShowProp: json_field and show_prop read what the sed
// pipelines they replaced read, on IMDS's and SSM's answers and on
// stranger ones.
func TestJSONFieldAndShowProp(t *testing.T) {
	bodies := []string{
		"{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2024-01-01T00:00:00Z\",\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIAEXAMPLE\",\n  \"SecretAccessKey\" : \"abc/def+ghi=\",\n  \"Token\" : \"IQoJb3JpZ2luX2VjE\",\n  \"Expiration\" : \"2024-01-01T06:00:00Z\"\n}",
		`{"Parameter":{"ARN":"arn:aws:ssm:eu-west-1:1:parameter/x","Name":"/x","Type":"SecureString","Value":"eyJhIjoxfQ==","Version":1}}`,
		`{"__type":"com.amazonaws.ssm#ParameterNotFound:http://internal","message":"Parameter /x not found."}`,
		`{"__type":"AccessDeniedException","Message":"User: arn:aws:sts::1:assumed-role/r/i is not authorized"}`,
		"{\"Value\":\"first\",\"Value\":\"second\"}\n{\"Value\":\"third\"}",
		"no json\n\"Value\"  :\t\"tabbed\" trailing\n\"Value\":\"later line\"",
		"\"Value\":\"a\",\"x\":\"Value\":\"b\"",
		"\"Value\":\"unterminated",
		"",
		"\n\n\"Code\":\"\"\n",
		"\r\n\"Code\":\"Success\"\r\n",
	}
	names := []string{"Code", "AccessKeyId", "SecretAccessKey", "Token", "Value", "__type", "[Mm]essage"}
	shows := []string{
		"ActiveState=active\nActiveEnterTimestamp=Mon 2024-01-01 00:00:00 UTC",
		"Id=ecs.service\nActiveState=failed\nActiveEnterTimestamp=",
		"ActiveEnterTimestamp=\nActiveState=inactive\nActiveState=active\nActiveEnterTimestamp=x\n\n",
		"", "\n", "ActiveState=\n\nActiveState=\n", " ActiveState=active\nXActiveState=y\nActiveState=a=b",
	}
	var code strings.Builder
	code.WriteString("i=0\n")
	for i := range bodies {
		for _, n := range names {
			code.WriteString("HTTP_BODY=${BODY" + strconv.Itoa(i) + "}; json_field " + shellWord(n) + "; new=$JF\n")
			code.WriteString("old=$(printf '%s\\n' \"$HTTP_BODY\" | sed -n 's/.*\"'" + shellWord(n) + "'\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p' | sed -n 1p)\n")
			code.WriteString("[[ $new == \"$old\" ]] || printf 'json_field %s on body %s: %q, sed: %q\\n' " + shellWord(n) + " " + strconv.Itoa(i) + " \"$new\" \"$old\"\n")
		}
	}
	for i := range shows {
		for _, n := range []string{"ActiveState", "ActiveEnterTimestamp"} {
			code.WriteString("out=${SHOW" + strconv.Itoa(i) + "}; show_prop \"$out\" " + n + "; new=$PROP\n")
			code.WriteString("old=$(printf '%s\\n' \"$out\" | sed -n 's/^" + n + "=//p')\n")
			code.WriteString("[[ $new == \"$old\" ]] || printf 'show_prop %s on output %s: %q, sed: %q\\n' " + n + " " + strconv.Itoa(i) + " \"$new\" \"$old\"\n")
		}
	}
	var env []string
	for i, b := range bodies {
		env = append(env, "BODY"+strconv.Itoa(i)+"="+b)
	}
	for i, s := range shows {
		env = append(env, "SHOW"+strconv.Itoa(i)+"="+s)
	}
	if out := runFunctions(t, code.String(), env...); out != "" {
		t.Error(out)
	}
}

// TestBase64AndTimeInBash: b64_decode and b64_encode, which stand for
// base64 -d (the payload) and base64 (the keys= field), agree with Go's
// encoding/base64, non-canonical padding bits included; b64_decode says a
// payload with NUL, LF or CR, or none at all, is not one line; utc_stamp
// writes SigV4's timestamp as Go does, leap days and centuries included.
func TestBase64AndTimeInBash(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	var texts []string // no NUL: a bash variable cannot hold one
	for n := 0; n <= 100; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(1 + rng.Intn(255))
		}
		texts = append(texts, string(b))
	}
	var all strings.Builder
	for b := 1; b < 256; b++ {
		all.WriteByte(byte(b))
	}
	texts = append(texts, all.String(), `{"https://index.docker.io/v1/":{"auth":"Y2ktYm90OnBhc3M=","email":""}}`)
	type dec struct {
		in   string
		line bool
		want string
	}
	var decs []dec
	for _, s := range texts {
		if s == "" {
			continue
		}
		line := !strings.ContainsAny(s, "\n\r")
		decs = append(decs, dec{base64.StdEncoding.EncodeToString([]byte(s)), line, s})
	}
	decs = append(decs, dec{"QR==", true, "A"}, dec{"QUJ=", true, "AB"}, dec{"AAAA", false, ""}, dec{"QQ0K", false, ""},
		dec{"eyJhIjoxfQ0=", false, ""}, dec{"eyJhIjoxfQo=", false, ""}, dec{"/+/+", true, "\xff\xef\xfe"})
	epochs := []int64{0, 59, 86399, 86400, 951782400, 951868799, 951868800, 978307199, 1709164800, 1709251199,
		1735689599, 1735689600, 4107542399, 4107542400, 4102444800, 2147483647, 253402300799}
	for i := 0; i < 200; i++ {
		epochs = append(epochs, rng.Int63n(253402300800))
	}
	var enc, dc, ep []string
	for _, s := range texts {
		enc = append(enc, hex.EncodeToString([]byte(s)))
	}
	for _, d := range decs {
		dc = append(dc, d.in)
	}
	for _, e := range epochs {
		ep = append(ep, strconv.FormatInt(e, 10))
	}
	out := runFunctions(t, `
for h in $ENC; do [[ $h == - ]] && h=''; printf -v s "$(sed 's/../\\x&/g' <<<"$h")"; b64_encode "$s"; printf '%s\n' "${B64:--}"; done
for b in $DEC; do b64_decode "$b"; if ((B64_LINE)); then text_hex "$B64_BYTES"; printf '1 %s\n' "$HEX"; else printf '0 -\n'; fi; done
for e in $EPOCHS; do utc_stamp "$e"; printf '%s\n' "$STAMP"; done
amz_now; printf '%s\n' "$AMZ_DATE"
`, "ENC="+strings.Join(dash(enc), " "), "DEC="+strings.Join(dc, " "), "EPOCHS="+strings.Join(ep, " "))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(texts)+len(decs)+len(epochs)+1 {
		t.Fatalf("%d lines of output, want %d:\n%s", len(lines), len(texts)+len(decs)+len(epochs)+1, out)
	}
	for i, s := range texts {
		want := base64.StdEncoding.EncodeToString([]byte(s))
		if want == "" {
			want = "-"
		}
		if lines[i] != want {
			t.Errorf("b64_encode of %q: %s, want %s", s, lines[i], want)
		}
	}
	lines = lines[len(texts):]
	for i, d := range decs {
		want := "0 -"
		if d.line {
			want = "1 " + hex.EncodeToString([]byte(d.want))
		}
		if lines[i] != want {
			t.Errorf("b64_decode of %s: %s, want %s", d.in, lines[i], want)
		}
	}
	lines = lines[len(decs):]
	for i, e := range epochs {
		if want := time.Unix(e, 0).UTC().Format("20060102T150405Z"); lines[i] != want {
			t.Errorf("utc_stamp %d: %s, want %s", e, lines[i], want)
		}
	}
	now, err := time.Parse("20060102T150405Z", lines[len(lines)-1])
	if d := time.Since(now); err != nil || d < -5*time.Second || d > testenv.Scale(30*time.Second) {
		t.Errorf("amz_now: %s is not now (%v)", lines[len(lines)-1], err)
	}
}
