#!/bin/bash
# ecs-registry-rotate: rotate the ECS agent's registry credentials
# (ECS_ENGINE_AUTH_TYPE / ECS_ENGINE_AUTH_DATA) in ecs.config on one ECS
# container instance. Run by SSM Run Command (AWS-RunShellScript) as root,
# after the variable assignments that script.Commands puts in front of it:
#
#   ECSRR_MODE          preflight | apply | rollback
#   ECSRR_RUN_ID        [a-z0-9-]{1,64}, names the backup
#   ECSRR_TRANSPORT     parameter | inline
#   ECSRR_PARAMETER     SSM parameter name (parameter transport)
#   ECSRR_INLINE_B64    base64(payload) (inline transport)
#   ECSRR_AUTH_TYPE     dockercfg | docker
#   ECSRR_REGISTRY_KEY  the registry key of the payload's only member
#   ECSRR_INIT          systemd | upstart
#   ECSRR_RESTART       true | false
#   ECSRR_READ_BUDGET   seconds, 1-3600, default 60: how long GetParameter
#                       is retried on throttling, 5xx and transport errors
#   ECSRR_LOCK_WAIT     seconds, 0-3600, default 110 (under the default
#                       executionTimeout of 120 s): how long to wait for
#                       another of these scripts on the instance to end
#
# The payload is a JSON object with exactly one member: registry key ->
# entry. The parameter's value is base64(payload); it is read with
# GetParameter, signed here with SigV4 (SHA-256 and HMAC-SHA256 in bash
# arithmetic), using the instance role's credentials from IMDSv2.
#
# Files next to the config (through a symlinked config: next to its target):
#   .ecs-registry-rotate.lock   empty, 0600: flock'd for the whole run, so
#                               one of these scripts runs at a time
#   <config>.ecs-registry-rotate-<run>.bak    the original, 0600, its owner;
#                               written once per run; apply keeps only this
#                               run's and the newest other run's
#   <config>.ecs-registry-rotate-<run>.state  0600, never printed: the
#                               original's mode, owner and sha256, how far
#                               the run went, when it restarted the agent
#
# Output: on success the last stdout line is
#   ecs-registry-rotate: ok mode=<mode> file=<updated|unchanged|restored|checked>
#     agent=<restarted|not-restarted|restart-not-needed>
#     written=<the config's mtime: epoch seconds.nanoseconds, 0 unknown>
#     prior=<run id of the newest other backup, or ->
#     backup=<this run's backup path, %XX-encoded>
#     [pruned=<n>]                      apply
#     [keys=<base64 JSON array> [keys-omitted=<n>]]  preflight, apply
# (one line, fields separated by one blank, no value holds a blank); on
# failure the exit status is 1 and the last stderr line is
#   ecs-registry-rotate: error: <code>: <message>
# Other stdout lines start with "ecs-registry-rotate: note: "; one of them
# may be "dormant-keys <base64 JSON array>[ more=<n>]".
#
# Secrets (payload, its base64, IMDS credentials, the IMDS token, every
# SigV4 signing key) live only in shell variables and pipes: never in the
# argv of an external command (/proc/<pid>/cmdline is world-readable), never
# in a here document (bash < 5.1 writes those to $TMPDIR), never printed.
# The only files that hold them, or anything derived from them, are the
# config, its temp files (0600 in the config's directory), the backup and
# the state file.

if [ -n "${BASH_VERSION:-}" ]; then set +o posix; fi
set -u
umask 077
export LC_ALL=C

TAG='ecs-registry-rotate'
MODE=${ECSRR_MODE-}
RUN_ID=${ECSRR_RUN_ID-}
TRANSPORT=${ECSRR_TRANSPORT-}
PARAMETER=${ECSRR_PARAMETER-}
INLINE_B64=${ECSRR_INLINE_B64-}
AUTH_TYPE=${ECSRR_AUTH_TYPE-}
REGISTRY_KEY=${ECSRR_REGISTRY_KEY-}
INIT=${ECSRR_INIT-}
RESTART=${ECSRR_RESTART-}
READ_BUDGET=${ECSRR_READ_BUDGET:-60}
LOCK_WAIT=${ECSRR_LOCK_WAIT:-110}
unset ECSRR_INLINE_B64

TMPFILES=()
PRUNED=0 KEYS_FIELDS='' WRITTEN=''

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local f left=()
	# Quiet: the error line must stay the last line of stderr. One rm for
	# the temp files still there (most were renamed into place).
	for f in ${TMPFILES[@]+"${TMPFILES[@]}"}; do
		if [[ -e $f || -L $f ]]; then left+=("$f"); fi
	done
	if ((${#left[@]} > 0)); then rm -f -- "${left[@]}" 2>/dev/null; fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Speed: every $(...) and pipeline forks, every external tool is an
# exec, and the script runs on every instance of a fleet: helpers set a
# variable (CLEAN, PCT, NK, ...) instead of printing to a command
# substitution, and nothing runs a tool that bash can do itself.

note() {
	clean "$1" 1000
	printf '%s: note: %s\n' "$TAG" "$CLEAN"
}

# clean TEXT [MAX]: CLEAN = untrusted TEXT as one printable line of at most
# MAX (default 300) bytes.
clean() {
	local s=${1//[^[:print:]]/ }
	printf -v CLEAN '%.*s' "${2:-300}" "$s"
}

fail() {
	clean "$2"
	printf '%s: error: %s: %s\n' "$TAG" "$1" "$CLEAN" >&2
	exit 1
}

# pct TEXT: PCT = TEXT with "%", blanks and bytes outside printable ASCII
# as %XX, so that a path is one space-free field of the ok line.
pct() {
	local s=$1 c i
	PCT=''
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9/._~+,:@=-]) PCT+=$c ;;
		*)
			printf -v c '%%%02X' "'$c"
			PCT+=$c
			;;
		esac
	done
}

# finish FILE AGENT: the ok line, then exit 0.
finish() {
	local fields written
	if [[ -n $WRITTEN ]]; then
		written=$WRITTEN
	else
		written=$(date -r "${CFG:-}" +%s.%N 2>/dev/null) || written=0
	fi
	prior_run
	pct "$BACKUP"
	clean "$PCT" 400
	fields="mode=$MODE file=$1 agent=$2 written=$written prior=$PRIOR backup=$CLEAN"
	[[ $MODE == apply ]] && fields+=" pruned=$PRUNED"
	if [[ -n $KEYS_FIELDS ]]; then
		clean "$KEYS_FIELDS" 1200
		fields+=" $CLEAN"
	fi
	printf '%s: ok %s\n' "$TAG" "$fields"
	exit 0
}

# ---------------------------------------------------------------- parameters

check_params() {
	local re
	case $MODE in preflight | apply | rollback) ;; *) fail bad-params "mode must be preflight, apply or rollback" ;; esac
	re='^[a-z0-9-]{1,64}$'
	[[ $RUN_ID =~ $re ]] || fail bad-params "run id must match [a-z0-9-]{1,64}"
	case $INIT in systemd | upstart) ;; *) fail bad-params "init must be systemd or upstart" ;; esac
	case $RESTART in true | false) ;; *) fail bad-params "restart must be true or false" ;; esac
	re='^[0-9]{1,4}$'
	if ! [[ $LOCK_WAIT =~ $re ]] || ((10#$LOCK_WAIT > 3600)); then
		fail bad-params "lock wait must be 0 to 3600 seconds"
	fi
	LOCK_WAIT=$((10#$LOCK_WAIT))
	[[ $MODE == rollback ]] && return
	if ! [[ $READ_BUDGET =~ $re ]] || ((10#$READ_BUDGET < 1 || 10#$READ_BUDGET > 3600)); then
		fail bad-params "read budget must be 1 to 3600 seconds"
	fi
	READ_BUDGET=$((10#$READ_BUDGET))
	case $AUTH_TYPE in dockercfg | docker) ;; *) fail bad-params "auth type must be dockercfg or docker" ;; esac
	re='^[]!#-&(-[^-~]{1,256}$'
	[[ $REGISTRY_KEY =~ $re ]] || fail bad-params "registry key must be 1 to 256 printable characters without spaces, quotes or backslashes"
	case $TRANSPORT in
	parameter)
		re='^[A-Za-z0-9_./-]{1,1011}$'
		[[ $PARAMETER =~ $re ]] || fail bad-params "parameter name must match [A-Za-z0-9_./-]{1,1011}"
		;;
	inline)
		[[ -n $INLINE_B64 ]] || fail bad-params "inline transport needs the payload"
		;;
	*) fail bad-params "transport must be parameter or inline" ;;
	esac
}

# ---------------------------------------------------------------- base64, time

B64_ALPHABET='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

# b64_decode TEXT: TEXT is base64 (its alphabet, "=" only at the end, a
# multiple of 4 long: checked by the caller). B64_LINE = 1 when its bytes
# are one line (at least one byte, no NUL, LF or CR), then B64_BYTES =
# the bytes; as base64 -d decodes (bits after the last byte ignored).
b64_decode() {
	local s=$1 i j c t v n esc=''
	B64_LINE=1 B64_BYTES=''
	for ((i = 0; i < ${#s}; i += 4)); do
		v=0 n=3
		for ((j = 0; j < 4; j++)); do
			c=${s:i+j:1}
			if [[ $c == = ]]; then
				v=$((v << 6)) n=$((n - 1))
			else
				t=${B64_ALPHABET%%"$c"*}
				v=$((v << 6 | ${#t}))
			fi
		done
		for ((j = 0; j < n; j++)); do
			c=$((v >> (16 - 8 * j) & 255))
			((c == 0 || c == 10 || c == 13)) && B64_LINE=0
			printf -v t '\\x%02x' "$c"
			esc+=$t
		done
	done
	[[ -n $esc ]] || B64_LINE=0
	((B64_LINE)) && printf -v B64_BYTES '%b' "$esc"
	return 0
}

# b64_encode TEXT: B64 = TEXT's bytes in base64, on one line.
b64_encode() {
	local s=$1 i n a b c v
	B64=''
	for ((i = 0; i < ${#s}; i += 3)); do
		n=$((${#s} - i)) b=0 c=0
		printf -v a '%d' "'${s:i:1}"
		((n > 1)) && printf -v b '%d' "'${s:i+1:1}"
		((n > 2)) && printf -v c '%d' "'${s:i+2:1}"
		v=$((a << 16 | b << 8 | c))
		B64+=${B64_ALPHABET:v >> 18:1}${B64_ALPHABET:v >> 12 & 63:1}
		if ((n > 1)); then B64+=${B64_ALPHABET:v >> 6 & 63:1}; else B64+='='; fi
		if ((n > 2)); then B64+=${B64_ALPHABET:v & 63:1}; else B64+='='; fi
	done
}

# utc_stamp EPOCH: STAMP = EPOCH (seconds, 1970 on) in UTC as SigV4 writes
# it, YYYYMMDDTHHMMSSZ; the calendar is arithmetic (days to civil date,
# proleptic Gregorian), so TZ plays no part.
utc_stamp() {
	local t=$1 z era doe yoe doy mp y m d
	z=$((t / 86400 + 719468))
	era=$((z / 146097))
	doe=$((z - era * 146097))
	yoe=$(((doe - doe / 1460 + doe / 36524 - doe / 146096) / 365))
	doy=$((doe - (365 * yoe + yoe / 4 - yoe / 100)))
	mp=$(((5 * doy + 2) / 153))
	d=$((doy - (153 * mp + 2) / 5 + 1))
	m=$((mp < 10 ? mp + 3 : mp - 9))
	y=$((yoe + era * 400 + (m <= 2)))
	t=$((t % 86400))
	printf -v STAMP '%04d%02d%02dT%02d%02d%02dZ' "$y" "$m" "$d" $((t / 3600)) $((t / 60 % 60)) $((t % 60))
}

# amz_now: AMZ_DATE = now as utc_stamp writes it: the epoch from bash's
# printf %(%s)T (bash 4.2 on), else date -u.
amz_now() {
	local t re='^[0-9]{9,}$'
	printf -v t '%(%s)T' -1 2>/dev/null
	if [[ $t =~ $re ]]; then
		utc_stamp "$t"
		AMZ_DATE=$STAMP
	else
		AMZ_DATE=$(date -u +%Y%m%dT%H%M%SZ)
	fi
}

# ---------------------------------------------------------------- JSON

# JSON_AWK reads one JSON text. It must be an object; for each member it
# prints
#   raw key \001 decoded key \001 raw value \001 kind \001 typed \001 strings
# (raw = the bytes as written; kind of the value: o object, s string, n
# null, x other; typed: when the value is an object, the folded names of
# its members whose value is neither a string nor null, each after a
# blank; strings: the decoded names of its members whose value is a
# string, each followed by \002). Exit status 2 when the text is not
# valid JSON. Decoding keeps escapes other than \" \\ \/ and
# printable-ASCII \u00XX as written, so a decoded key never holds a
# control character. Folding is how Go's encoding/json matches a member to
# a struct field: case-insensitively, with U+017F and U+212A (Kelvin) as s
# and k; letters come out lower case, anything else as "_" (no glob
# character: typed is word-split unquoted).
# shellcheck disable=SC2016 # awk code, not shell
JSON_AWK='
BEGIN {
	for (i = 1; i < 32; i++) ctl = ctl sprintf("%c", i)
	hexd = "0123456789abcdef"; LONG_S = "\305\277"; KELVIN = "\342\204\252"
}
{ s = (NR == 1) ? $0 : s "\n" $0 }
END {
	n = length(s); p = 1; cnt = 0
	ws()
	if (substr(s, p, 1) != "{") bad()
	p++; ws()
	if (substr(s, p, 1) == "}") { p++; ws(); if (p <= n) bad(); exit 0 }
	for (;;) {
		ws(); if (substr(s, p, 1) != "\"") bad()
		ks = p; str(); kraw = substr(s, ks, p - ks)
		ws(); if (substr(s, p, 1) != ":") bad()
		p++; ws(); vs = p; typed = ""; strs = ""; kind = kindof(substr(s, p, 1))
		if (kind == "o") entry(); else val(1)
		vraw = substr(s, vs, p - vs)
		out[++cnt] = kraw "\001" dec(kraw) "\001" vraw "\001" kind "\001" typed "\001" strs
		ws(); c = substr(s, p, 1); p++
		if (c == ",") continue
		if (c == "}") break
		bad()
	}
	ws(); if (p <= n) bad()
	for (i = 1; i <= cnt; i++) print out[i]
}
function bad() { exit 2 }
function kindof(c) { return c == "{" ? "o" : c == "\"" ? "s" : c == "n" ? "n" : "x" }
# entry: obj(1) for a member value, noting in typed its members that are
# neither strings nor null, in strs those that are strings.
function entry(   c, ks, k) {
	p++; ws()
	if (substr(s, p, 1) == "}") { p++; return }
	for (;;) {
		ws(); if (substr(s, p, 1) != "\"") bad()
		ks = p; str(); k = substr(s, ks, p - ks); ws()
		if (substr(s, p, 1) != ":") bad()
		p++; ws(); c = kindof(substr(s, p, 1)); val(2); ws()
		if (c != "s" && c != "n") typed = typed " " fold(k)
		if (c == "s") strs = strs dec(k) "\002"
		c = substr(s, p, 1); p++
		if (c == ",") continue
		if (c == "}") return
		bad()
	}
}
function fold(k,   r, i, j, c, v) {
	k = substr(k, 2, length(k) - 2); r = ""
	while ((j = index(k, LONG_S)) > 0) k = substr(k, 1, j - 1) "s" substr(k, j + 2)
	while ((j = index(k, KELVIN)) > 0) k = substr(k, 1, j - 1) "k" substr(k, j + 3)
	for (i = 1; i <= length(k); i++) {
		c = substr(k, i, 1)
		if (c == "\\" && substr(k, i + 1, 1) == "u") {
			v = 0
			for (j = 2; j <= 5; j++) v = v * 16 + index(hexd, tolower(substr(k, i + j, 1))) - 1
			i += 5
			if (v == 383) r = r "s"
			else if (v == 8490) r = r "k"
			else if ((v >= 65 && v <= 90) || (v >= 97 && v <= 122)) r = r tolower(sprintf("%c", v))
			else r = r "_"
		} else if (c == "\\") { r = r "_"; i++ }
		else if (c ~ /^[A-Za-z]$/) r = r tolower(c)
		else r = r "_"
	}
	return r
}
function ws() { while (p <= n && index(" \t\n\r", substr(s, p, 1)) > 0) p++ }
function str(   c, e) {
	p++
	for (;;) {
		if (p > n) bad()
		c = substr(s, p, 1)
		if (c == "\"") { p++; return }
		if (c == "\\") {
			e = substr(s, p + 1, 1)
			if (e == "u") {
				if (substr(s, p + 2, 4) !~ /^[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]$/) bad()
				p += 6
			} else if (e != "" && index("\"\\/bfnrt", e) > 0) p += 2
			else bad()
		} else if (index(ctl, c) > 0) bad()
		else p++
	}
}
function val(d,   c) {
	if (d > 64) bad()
	c = substr(s, p, 1)
	if (c == "\"") str()
	else if (c == "{") obj(d)
	else if (c == "[") arr(d)
	else if (c == "t") lit("true")
	else if (c == "f") lit("false")
	else if (c == "n") lit("null")
	else if (c != "" && index("-0123456789", c) > 0) num()
	else bad()
}
function lit(w) { if (substr(s, p, length(w)) != w) bad(); p += length(w) }
function num(   t) {
	t = substr(s, p)
	if (!match(t, /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/)) bad()
	p += RLENGTH
}
function obj(d,   c) {
	p++; ws()
	if (substr(s, p, 1) == "}") { p++; return }
	for (;;) {
		ws(); if (substr(s, p, 1) != "\"") bad()
		str(); ws()
		if (substr(s, p, 1) != ":") bad()
		p++; ws(); val(d + 1); ws()
		c = substr(s, p, 1); p++
		if (c == ",") continue
		if (c == "}") return
		bad()
	}
}
function arr(d,   c) {
	p++; ws()
	if (substr(s, p, 1) == "]") { p++; return }
	for (;;) {
		ws(); val(d + 1); ws()
		c = substr(s, p, 1); p++
		if (c == ",") continue
		if (c == "]") return
		bad()
	}
}
function dec(k,   r, i, j, c, e, v) {
	k = substr(k, 2, length(k) - 2); r = ""
	for (i = 1; i <= length(k); i++) {
		c = substr(k, i, 1)
		if (c != "\\") { r = r c; continue }
		e = substr(k, i + 1, 1)
		if (e == "\"" || e == "\\" || e == "/") { r = r e; i++; continue }
		if (e == "u") {
			v = 0
			for (j = 2; j <= 5; j++) v = v * 16 + index(hexd, tolower(substr(k, i + j, 1))) - 1
			if (v >= 32 && v < 127) { r = r sprintf("%c", v); i += 5; continue }
		}
		r = r c
	}
	return r
}
'

# parse_members TEXT: sets M_N, M_KRAW[], M_KDEC[], M_VRAW[], M_KIND[],
# M_TYPED[] and M_STRS[] (see JSON_AWK) to the members of the JSON object
# TEXT; status 1 when TEXT is not a JSON object.
parse_members() {
	local out rec
	M_N=0 M_KRAW=() M_KDEC=() M_VRAW=() M_KIND=() M_TYPED=() M_STRS=()
	out=$(printf '%s' "$1" | awk "$JSON_AWK") || return 1
	# One member a line; no line is empty (a raw key is at least "").
	while [[ -n $out ]]; do
		rec=${out%%$'\n'*}
		if [[ $out == *$'\n'* ]]; then out=${out#*$'\n'}; else out=''; fi
		M_KRAW[M_N]=${rec%%$'\001'*}
		rec=${rec#*$'\001'}
		M_KDEC[M_N]=${rec%%$'\001'*}
		rec=${rec#*$'\001'}
		M_VRAW[M_N]=${rec%%$'\001'*}
		rec=${rec#*$'\001'}
		M_KIND[M_N]=${rec%%$'\001'*}
		rec=${rec#*$'\001'}
		M_TYPED[M_N]=${rec%%$'\001'*}
		M_STRS[M_N]=${rec#*$'\001'}
		M_N=$((M_N + 1))
	done
}

# agent_fields TYPE: FIELDS = the fields of the struct the agent unmarshals
# each entry of TYPE into (dockerauth.go: dockercfgConfigEntry; for docker,
# docker's registry.AuthConfig), all strings.
agent_fields() {
	case $1 in
	dockercfg) FIELDS=' auth ' ;;
	docker) FIELDS=' username password auth email serveraddress identitytoken registrytoken ' ;;
	*) FIELDS='' ;;
	esac
}

# rejected_member TYPE: REJECTED = the index of the first member (M_*) that
# makes the agent's json.Unmarshal of the whole value fail, so that it
# drops every registry: an entry that is not an object or null, or a
# member of an entry that matches one of the struct's string fields and is
# neither a string nor null. Status 1 when there is none.
rejected_member() {
	local i f fields
	agent_fields "$1"
	fields=$FIELDS
	for ((i = 0; i < M_N; i++)); do
		case ${M_KIND[i]} in
		n) continue ;;
		o) ;;
		*)
			REJECTED=$i
			return 0
			;;
		esac
		for f in ${M_TYPED[i]}; do
			if [[ $fields == *" $f "* ]]; then
				REJECTED=$i
				return 0
			fi
		done
	done
	return 1
}

# norm_key KEY: NK = the key as the agent compares it: scheme stripped,
# Docker Hub spellings mapped to index.docker.io/v1/, trailing slashes
# dropped.
norm_key() {
	local k=$1
	case $k in
	http://*) k=${k#http://} ;;
	https://*) k=${k#https://} ;;
	esac
	case ${k%%/*} in
	docker.io | index.docker.io | registry-1.docker.io)
		NK='index.docker.io/v1/'
		return
		;;
	esac
	while [[ $k == */ ]]; do k=${k%/}; done
	NK=$k
}

# member_string STRS NAME: status 0 when NAME is one of STRS (M_STRS of an
# object member: the decoded names of its members whose value is a string).
member_string() {
	[[ $'\002'$1 == *$'\002'"$2"$'\002'* ]]
}

# ---------------------------------------------------------------- HTTP

# cq VALUE: CQ = VALUE as a double-quoted curl config string.
cq() {
	local v=${1//\\/\\\\}
	v=${v//\"/\\\"}
	CQ="\"$v\""
}

# curl_cfg METHOD URL NOPROXY DATA HEADER...: CURL_CFG = a curl config, for
# curl's stdin, so that tokens and signatures travel through a pipe, not
# through argv.
curl_cfg() {
	local h nl=$'\n'
	CURL_CFG="silent${nl}connect-timeout = 5${nl}max-time = 20${nl}"'write-out = "\n%{http_code}"'$nl
	cq "$1"
	CURL_CFG+="request = $CQ$nl"
	cq "$2"
	CURL_CFG+="url = $CQ$nl"
	[[ $3 == 1 ]] && CURL_CFG+='noproxy = "*"'$nl
	if [[ -n $4 ]]; then
		cq "$4"
		CURL_CFG+="data-binary = $CQ$nl"
	fi
	shift 4
	for h in "$@"; do
		cq "$h"
		CURL_CFG+="header = $CQ$nl"
	done
}

# curl_do METHOD URL NOPROXY DATA HEADER...: sets CURL_RC, HTTP_STATUS, HTTP_BODY.
curl_do() {
	local out CURL_CFG CQ
	curl_cfg "$@"
	out=$(printf '%s' "$CURL_CFG" | curl -q -K - 2>/dev/null)
	CURL_RC=$?
	HTTP_STATUS=${out##*$'\n'}
	HTTP_BODY=${out%$'\n'*}
	[[ $out == *$'\n'* ]] || HTTP_BODY=''
}

# json_field NAME: JF = the string value of member NAME (a regular
# expression) in HTTP_BODY (flat JSON, as IMDS and SSM send it; the value
# must hold no escaped quote): on the first line that has one, the last.
json_field() {
	local rest=$HTTP_BODY line re='^.*"'"$1"'"[[:space:]]*:[[:space:]]*"([^"]*)".*$'
	JF=''
	while :; do
		line=${rest%%$'\n'*}
		if [[ $line =~ $re ]]; then
			JF=${BASH_REMATCH[1]}
			return
		fi
		[[ $rest == *$'\n'* ]] || return 0
		rest=${rest#*$'\n'}
	done
}

# ---------------------------------------------------------------- IMDS and SSM

imds_credentials() {
	local base token role re
	base=${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}
	base=${base%/}
	curl_do PUT "$base/latest/api/token" 1 '' 'X-aws-ec2-metadata-token-ttl-seconds: 300'
	[[ $CURL_RC == 0 && $HTTP_STATUS == 200 && -n $HTTP_BODY ]] ||
		fail imds-unavailable "no IMDSv2 token from $base (curl exit $CURL_RC, HTTP $HTTP_STATUS)"
	token=$HTTP_BODY
	curl_do GET "$base/latest/meta-data/iam/security-credentials/" 1 '' "X-aws-ec2-metadata-token: $token"
	[[ $CURL_RC == 0 && $HTTP_STATUS == 200 ]] ||
		fail imds-unavailable "IMDS lists no instance role (curl exit $CURL_RC, HTTP $HTTP_STATUS): attach an instance profile"
	role=${HTTP_BODY%%$'\n'*}
	role=${role%$'\r'}
	re='^[A-Za-z0-9+=,.@_-]{1,64}$'
	[[ $role =~ $re ]] || fail imds-unavailable "IMDS lists no usable instance role"
	curl_do GET "$base/latest/meta-data/iam/security-credentials/$role" 1 '' "X-aws-ec2-metadata-token: $token"
	[[ $CURL_RC == 0 && $HTTP_STATUS == 200 ]] ||
		fail imds-unavailable "no credentials for role $role from IMDS (curl exit $CURL_RC, HTTP $HTTP_STATUS)"
	json_field Code
	[[ $JF == Success ]] || fail imds-unavailable "IMDS credentials for role $role are not ready"
	json_field AccessKeyId
	AK=$JF
	json_field SecretAccessKey
	SK=$JF
	json_field Token
	ST=$JF
	JF=''
	re='^[A-Z0-9]{16,128}$'
	[[ $AK =~ $re ]] || fail imds-unavailable "IMDS credentials for role $role are malformed"
	re='^[A-Za-z0-9/+=]+$'
	[[ $SK =~ $re && $ST =~ $re ]] || fail imds-unavailable "IMDS credentials for role $role are malformed"
	ROLE=$role
	if [[ -z $REGION ]]; then
		curl_do GET "$base/latest/meta-data/placement/region" 1 '' "X-aws-ec2-metadata-token: $token"
		[[ $CURL_RC == 0 && $HTTP_STATUS == 200 ]] && REGION=$HTTP_BODY
	fi
}

# file_sums FILE...: SUMS[] = the SHA-256 (hex) of each file, from one
# sha256sum; status 1 when one cannot be read. (cmp is not in coreutils,
# and minimal images may lack diffutils: files are compared by checksum.)
file_sums() {
	local out line re='^[0-9a-f]{64}'
	SUMS=()
	out=$(sha256sum -- "$@") || return 1
	out+=$'\n'
	while [[ -n $out ]]; do
		line=${out%%$'\n'*}
		out=${out#*$'\n'}
		line=${line#\\} # a name with a newline or backslash: "\<sum>  <escaped name>"
		[[ $line =~ $re ]] || return 1
		SUMS+=("${BASH_REMATCH[0]}")
	done
	((${#SUMS[@]} == $#))
}

# SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) in bash arithmetic
# (64-bit on every bash that runs this), for SigV4: the signing keys never
# leave this shell (no argv, no pipe, no file), and signing a request
# starts no process.
SHA256_K=(
	0x428a2f98 0x71374491 0xb5c0fbcf 0xe9b5dba5 0x3956c25b 0x59f111f1 0x923f82a4 0xab1c5ed5
	0xd807aa98 0x12835b01 0x243185be 0x550c7dc3 0x72be5d74 0x80deb1fe 0x9bdc06a7 0xc19bf174
	0xe49b69c1 0xefbe4786 0x0fc19dc6 0x240ca1cc 0x2de92c6f 0x4a7484aa 0x5cb0a9dc 0x76f988da
	0x983e5152 0xa831c66d 0xb00327c8 0xbf597fc7 0xc6e00bf3 0xd5a79147 0x06ca6351 0x14292967
	0x27b70a85 0x2e1b2138 0x4d2c6dfc 0x53380d13 0x650a7354 0x766a0abb 0x81c2c92e 0x92722c85
	0xa2bfe8a1 0xa81a664b 0xc24b8b70 0xc76c51a3 0xd192e819 0xd6990624 0xf40e3585 0x106aa070
	0x19a4c116 0x1e376c08 0x2748774c 0x34b0bcb5 0x391c0cb3 0x4ed8aa4a 0x5b9cca4f 0x682e6ff3
	0x748f82ee 0x78a5636f 0x84c87814 0x8cc70208 0x90befffa 0xa4506ceb 0xbef9a3f7 0xc67178f2
)

# text_hex TEXT: HEX = the bytes of TEXT (LC_ALL=C: one byte a character) in
# lower-case hex.
text_hex() {
	local s=$1 i c
	HEX=''
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%02x' "'${s:i:1}"
		HEX+=$c
	done
}

# sha256 HEX: SHA = the SHA-256 of the bytes HEX spells (even length, lower
# case), in lower-case hex.
sha256() {
	local m=$1 n i t a b c d e f g h t1 t2 w=() hs
	hs=(0x6a09e667 0xbb67ae85 0x3c6ef372 0xa54ff53a 0x510e527f 0x9b05688c 0x1f83d9ab 0x5be0cd19)
	n=$((${#m} / 2))
	m+=80
	while (((${#m} / 2) % 64 != 56)); do m+=00; done
	printf -v t '%016x' $((n * 8))
	m+=$t
	for ((i = 0; i < ${#m}; i += 128)); do
		for ((t = 0; t < 16; t++)); do w[t]=$((16#${m:i+t*8:8})); done
		for ((t = 16; t < 64; t++)); do
			((a = w[t - 15], b = w[t - 2],
				w[t] = (w[t - 16] + ((a >> 7 | a << 25) ^ (a >> 18 | a << 14) ^ a >> 3) + w[t - 7] +
					((b >> 17 | b << 15) ^ (b >> 19 | b << 13) ^ b >> 10)) & 0xffffffff))
		done
		((a = hs[0], b = hs[1], c = hs[2], d = hs[3], e = hs[4], f = hs[5], g = hs[6], h = hs[7]))
		for ((t = 0; t < 64; t++)); do
			((t1 = h + (((e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)) & 0xffffffff) +
				((e & f) ^ (~e & g)) + SHA256_K[t] + w[t],
				t2 = (((a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)) & 0xffffffff) +
					((a & b) ^ (a & c) ^ (b & c)),
				h = g, g = f, f = e, e = (d + t1) & 0xffffffff, d = c, c = b, b = a, a = (t1 + t2) & 0xffffffff))
		done
		((hs[0] = (hs[0] + a) & 0xffffffff, hs[1] = (hs[1] + b) & 0xffffffff,
			hs[2] = (hs[2] + c) & 0xffffffff, hs[3] = (hs[3] + d) & 0xffffffff,
			hs[4] = (hs[4] + e) & 0xffffffff, hs[5] = (hs[5] + f) & 0xffffffff,
			hs[6] = (hs[6] + g) & 0xffffffff, hs[7] = (hs[7] + h) & 0xffffffff))
	done
	printf -v SHA '%08x' "${hs[@]}"
}

# hmac HEXKEY HEXDATA: MAC = HMAC-SHA256 (RFC 2104), in hex:
#   SHA256((K0 xor opad) || SHA256((K0 xor ipad) || DATA))
# with K0 the key (hashed when over 64 bytes) zero-padded to 64 bytes.
hmac() {
	local k=$1 i w ipad='' opad=''
	if ((${#k} > 128)); then
		sha256 "$k"
		k=$SHA
	fi
	while ((${#k} < 128)); do k+=0; done
	for ((i = 0; i < 128; i += 8)); do
		w=$((16#${k:i:8}))
		printf -v ipad '%s%08x' "$ipad" $((w ^ 0x36363636))
		printf -v opad '%s%08x' "$opad" $((w ^ 0x5c5c5c5c))
	done
	sha256 "$ipad$2"
	sha256 "$opad$SHA"
	MAC=$SHA
}

# ssm_endpoint: sets SSM_HOST, SSM_PATH and SSM_URL.
ssm_endpoint() {
	local endpoint re rest
	endpoint=${AWS_ENDPOINT_URL_SSM:-${AWS_ENDPOINT_URL:-}}
	if [[ -z $endpoint ]]; then
		endpoint="https://ssm.$REGION.amazonaws.com"
		[[ $REGION == cn-* ]] && endpoint+=.cn
	fi
	re='^(https?)://([^/?#]+)(/[A-Za-z0-9._~/-]*)?$'
	[[ $endpoint =~ $re ]] || fail parameter-error "SSM endpoint $endpoint is not a URL this script can sign for"
	SSM_HOST=${BASH_REMATCH[2]}
	rest=${BASH_REMATCH[3]}
	while [[ $rest == */ ]]; do rest=${rest%/}; done
	SSM_PATH="$rest/"
	SSM_URL="${BASH_REMATCH[1]}://$SSM_HOST$SSM_PATH"
}

# post_get_parameter BODY: one GetParameter call, signed with SigV4 now;
# sets CURL_RC, HTTP_STATUS, HTTP_BODY.
post_get_parameter() {
	local amz_date day scope creq sts k m sig auth re HEX SHA MAC AMZ_DATE STAMP
	amz_now
	amz_date=$AMZ_DATE
	day=${amz_date%%T*}
	scope="$day/$REGION/ssm/aws4_request"
	creq="POST"$'\n'"$SSM_PATH"$'\n'$'\n'
	creq+="content-type:application/x-amz-json-1.1"$'\n'"host:$SSM_HOST"$'\n'"x-amz-date:$amz_date"$'\n'
	creq+="x-amz-security-token:$ST"$'\n'"x-amz-target:AmazonSSM.GetParameter"$'\n'$'\n'
	creq+="content-type;host;x-amz-date;x-amz-security-token;x-amz-target"$'\n'
	text_hex "$1"
	sha256 "$HEX"
	creq+=$SHA
	text_hex "$creq"
	sha256 "$HEX"
	sts="AWS4-HMAC-SHA256"$'\n'"$amz_date"$'\n'"$scope"$'\n'$SHA
	text_hex "AWS4$SK"
	k=$HEX
	for m in "$day" "$REGION" ssm aws4_request "$sts"; do
		text_hex "$m"
		hmac "$k" "$HEX"
		k=$MAC
	done
	sig=$k
	re='^[0-9a-f]{64}$'
	[[ $sig =~ $re ]] || fail parameter-error "could not compute the request signature"
	auth="AWS4-HMAC-SHA256 Credential=$AK/$scope, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=$sig"
	curl_do POST "$SSM_URL" 0 "$1" "Host: $SSM_HOST" 'Content-Type: application/x-amz-json-1.1' \
		"X-Amz-Date: $amz_date" "X-Amz-Security-Token: $ST" 'X-Amz-Target: AmazonSSM.GetParameter' \
		"Authorization: $auth" 'Expect:'
}

# now_ms: NOW_MS = milliseconds since the epoch (bash 5's EPOCHREALTIME,
# else GNU date), else from $SECONDS.
now_ms() {
	local ns re='^([0-9]+)[.,]([0-9]{3})'
	if [[ ${EPOCHREALTIME:-} =~ $re ]]; then
		NOW_MS=$((BASH_REMATCH[1] * 1000 + 10#${BASH_REMATCH[2]}))
		return
	fi
	ns=$(date +%s%N 2>/dev/null)
	if [[ $ns =~ ^[0-9]{12,}$ ]]; then NOW_MS=$((ns / 1000000)); else NOW_MS=$((SECONDS * 1000)); fi
}

# backoff_ms N: BACKOFF_MS = the wait before retry N (1, 2, ...), full
# jitter over a window of 0.5 s doubling to at most 8 s: a fleet that reads
# at once and is throttled together must not retry together.
backoff_ms() {
	local cap=8000
	(($1 < 5)) && cap=$((500 << ($1 - 1)))
	BACKOFF_MS=$(((RANDOM * 32768 + RANDOM) % (cap + 1)))
}

sleep_ms() {
	local frac
	printf -v frac '%03d' $(($1 % 1000))
	sleep "$(($1 / 1000)).$frac"
}

# get_parameter: sets PAYLOAD_B64 to the parameter's value. Throttling,
# 5xx and transport errors are retried with backoff_ms for up to
# READ_BUDGET seconds in all.
get_parameter() {
	local re body attempt type msg start wait throttled
	REGION=${AWS_SSM_REGION_NAME:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
	imds_credentials
	re='^[a-z0-9-]{1,32}$'
	[[ $REGION =~ $re ]] || fail parameter-error "no AWS region: AWS_SSM_REGION_NAME is unset and IMDS gave none"
	ssm_endpoint
	body="{\"Name\":\"$PARAMETER\",\"WithDecryption\":true}"
	now_ms
	start=$NOW_MS
	for ((attempt = 1; ; attempt++)); do
		post_get_parameter "$body"
		if [[ $CURL_RC == 0 && $HTTP_STATUS == 200 ]]; then
			json_field Value
			PAYLOAD_B64=${JF//\\\//\/}
			JF=''
			return
		fi
		json_field __type
		type=${JF##*#}
		type=${type%%:*}
		json_field '[Mm]essage'
		msg=$JF
		throttled=0
		case $CURL_RC/$HTTP_STATUS/$type in
		0/*/ThrottlingException | 0/429/*) throttled=1 ;;
		0/5*/* | [1-9]*/*/*) ;;
		*) break ;;
		esac
		backoff_ms "$attempt"
		wait=$BACKOFF_MS
		now_ms
		((NOW_MS - start + wait < READ_BUDGET * 1000)) || break
		sleep_ms "$wait"
	done
	now_ms
	parameter_failed "$type" "$msg" "$throttled" "$attempt" "$((NOW_MS - start))"
}

# parameter_failed TYPE MESSAGE THROTTLED ATTEMPTS MILLISECONDS: the error
# for the last GetParameter answer.
parameter_failed() {
	if (($3)); then
		fail parameter-throttled "GetParameter $PARAMETER was throttled $4 times in $(($5 / 1000)) s: raise Parameter Store throughput in $REGION (its higher throughput setting), or rotate fewer instances per run (one cluster at a time)"
	fi
	[[ $CURL_RC == 0 ]] || fail parameter-error "cannot reach SSM at $SSM_URL (curl exit $CURL_RC, $4 attempts)"
	case $1 in
	AccessDeniedException)
		fail parameter-denied "ssm:GetParameter on $PARAMETER was denied for the instance role $ROLE: $2"
		;;
	ParameterNotFound)
		fail parameter-not-found "parameter $PARAMETER does not exist in $REGION (deleted already, or another account or region)"
		;;
	*)
		fail parameter-error "GetParameter $PARAMETER failed: HTTP $HTTP_STATUS ${1:-unknown error}${2:+: $2}"
		;;
	esac
}

# ---------------------------------------------------------------- payload

# load_payload: sets P_KRAW and P_VRAW, the payload's only member.
load_payload() {
	local b64 re payload what B64_BYTES B64_LINE
	if [[ $TRANSPORT == parameter ]]; then
		PAYLOAD_B64=''
		get_parameter
		b64=$PAYLOAD_B64
		what="the value of parameter $PARAMETER"
	else
		b64=$INLINE_B64
		what='the inline payload'
	fi
	re='^[A-Za-z0-9+/]+=?=?$'
	if ! [[ $b64 =~ $re ]] || ((${#b64} % 4 != 0)); then fail payload-invalid "$what is not base64"; fi
	# Decoded here, never in a process (base64 -d of the checked text
	# cannot fail: "is not base64" needs no second check).
	b64_decode "$b64"
	((B64_LINE)) || fail payload-invalid "$what does not decode to one line of JSON"
	payload=$B64_BYTES
	B64_BYTES=''
	parse_members "$payload" || fail payload-invalid "$what is not a JSON object"
	((M_N == 1)) || fail payload-invalid "$what must have exactly one member, it has $M_N"
	[[ ${M_KDEC[0]} == "$REGISTRY_KEY" ]] || fail payload-invalid "the payload's registry key differs from $REGISTRY_KEY"
	P_KRAW=${M_KRAW[0]}
	P_VRAW=${M_VRAW[0]}
	if [[ $AUTH_TYPE == dockercfg ]]; then
		member_string "${M_STRS[0]}" auth || fail payload-invalid "a dockercfg entry needs a string member auth"
	else
		if ! member_string "${M_STRS[0]}" username || ! member_string "${M_STRS[0]}" password; then
			fail payload-invalid "a docker entry needs string members username and password"
		fi
	fi
}

# ---------------------------------------------------------------- ecs.config

# read_lines FILE: L[] = its lines without "\n" (a "\r" stays), LN = their
# number, LAST_NL = 0 when the last line has no newline.
read_lines() {
	local line=''
	L=() LN=0 LAST_NL=1
	while IFS= read -r line; do
		L[LN]=$line
		LN=$((LN + 1))
	done <"$1"
	if [[ -n $line ]]; then
		L[LN]=$line
		LN=$((LN + 1))
		LAST_NL=0
	fi
}

# line_kv LINE: as ecs-init reads a line: trim, split at the first "=".
# Sets K and V; status 1 when the line has no "=".
line_kv() {
	local t=$1
	t=${t#"${t%%[![:space:]]*}"}
	t=${t%"${t##*[![:space:]]}"}
	[[ $t == *=* ]] || return 1
	K=${t%%=*}
	V=${t#*=}
}

# scan_lines: from L[], the count and the last value (the one that wins) of
# both variables.
scan_lines() {
	local i
	T_CNT=0 T_VAL='' D_CNT=0 D_VAL=''
	for ((i = 0; i < LN; i++)); do
		line_kv "${L[i]}" || continue
		case $K in
		ECS_ENGINE_AUTH_TYPE)
			T_CNT=$((T_CNT + 1))
			T_VAL=$V
			;;
		ECS_ENGINE_AUTH_DATA)
			D_CNT=$((D_CNT + 1))
			D_VAL=$V
			;;
		esac
	done
}

# unquote VALUE: UQ = VALUE without leading blanks and one pair of
# surrounding quotes.
unquote() {
	local v=$1
	v=${v#"${v%%[![:space:]]*}"}
	if ((${#v} >= 2)) && [[ ($v == \"*\") || ($v == \'*\') ]]; then
		v=${v:1:${#v}-2}
	fi
	UQ=$v
}

# resolve_config: CFG (through a symlink: the link stays, its target is
# rewritten), CFG_DIR, and this run's files next to it.
resolve_config() {
	CFG=${ECS_REGISTRY_ROTATE_CONFIG_FILE:-/etc/ecs/ecs.config}
	if [[ -L $CFG ]]; then
		CFG=$(readlink -f -- "$CFG") || fail config-missing "$CFG is a dangling symlink"
	fi
	dir_name "$CFG"
	CFG_DIR=$DIR
	# basename -- "$CFG" wherever it is used (after check_config: CFG does
	# not end in "/").
	CFG_BASE=${CFG##*/}
	BACKUP="$CFG.$TAG-$RUN_ID.bak"
	STATE="$CFG.$TAG-$RUN_ID.state"
	LOCK="$CFG_DIR/.$TAG.lock"
	[[ -d $CFG_DIR ]] || fail config-missing "$CFG does not exist (no directory $CFG_DIR)"
}

# dir_name PATH: DIR = $(dirname -- PATH): trailing slashes and the last
# component dropped, then the slashes before it; "/" when only slashes
# are left, "." without any; trailing newlines dropped as $(...) drops them.
dir_name() {
	local p=$1 t
	t=${p%"${p##*[!/]}"}
	if [[ -z $t ]]; then
		DIR=.
		[[ -n $p ]] && DIR=/
	elif [[ $t != */* ]]; then
		DIR=.
	else
		t=${t%/*}
		t=${t%"${t##*[!/]}"}
		DIR=${t:-/}
	fi
	while [[ $DIR == *$'\n' ]]; do DIR=${DIR%$'\n'}; done
}

# take_lock: one script of this tool at a time on the instance, for the
# whole run: SSM may deliver a command twice, and a retried command may
# overlap the first. The lock (fd 9) goes when the script exits, killed
# included; an empty 0600 file holds it.
take_lock() {
	[[ -L $LOCK ]] && fail config-unreadable "the lock file $LOCK is a symlink"
	if ! { exec 9>>"$LOCK"; } 2>/dev/null; then
		immutable_dir
		fail config-dir-not-writable "cannot create the lock file $LOCK"
	fi
	command -v flock >/dev/null 2>&1 || fail locked "flock (util-linux) is missing: cannot lock $LOCK"
	flock -w "$LOCK_WAIT" 9 ||
		fail locked "another $TAG script on this instance holds $LOCK; gave up after $LOCK_WAIT s"
}

check_config() {
	if [[ ! -e $CFG ]]; then
		[[ $MODE == rollback && -f $BACKUP ]] || fail config-missing "$CFG does not exist"
	else
		[[ -f $CFG ]] || fail config-unreadable "$CFG is not a regular file"
		[[ -r $CFG ]] || fail config-unreadable "$CFG is not readable"
		# read stops at the first NUL (status 0), or at the end (status 1).
		if IFS= read -r -d '' _ <"$CFG"; then fail config-unreadable "$CFG holds NUL bytes"; fi
	fi
}

# locked_attr PATH: status 0 when lsattr shows the immutable (i) or
# append-only (a) attribute on PATH, which stop even root from renaming
# over the file, or from renaming files in the directory.
locked_attr() {
	local out
	command -v lsattr >/dev/null 2>&1 || return 1
	out=$(lsattr -d -- "$1" 2>/dev/null) || return 1
	out=${out%% *}
	[[ $out == *[ia]* ]]
}

immutable_dir() {
	if locked_attr "$CFG_DIR"; then
		fail config-immutable "the directory $CFG_DIR is immutable or append-only (lsattr: i or a), so $CFG cannot be replaced: chattr -i -a it first"
	fi
}

# check_replaceable: the config can really be replaced: neither it nor its
# directory is immutable or append-only, a file can be made and renamed in
# the directory, and the config can be linked to (the probes see what
# lsattr cannot, or where it is missing: the kernel refuses a link to an
# immutable or append-only file as it refuses a rename over it, and in an
# append-only directory the probe's file cannot be removed).
check_replaceable() {
	local probe
	if [[ -e $CFG ]] && locked_attr "$CFG"; then
		fail config-immutable "$CFG is immutable or append-only (lsattr: i or a), so it cannot be replaced: chattr -i -a it first"
	fi
	immutable_dir
	[[ -w $CFG_DIR ]] || fail config-dir-not-writable "$CFG_DIR is not writable (as root: a read-only file system, or an immutable directory)"
	new_temp || fail config-dir-not-writable "cannot create a file in $CFG_DIR"
	probe="$TMP.probe"
	TMPFILES+=("$probe")
	mv -f -- "$TMP" "$probe" 2>/dev/null ||
		fail config-immutable "cannot rename files in $CFG_DIR (append-only or immutable?), so $CFG cannot be replaced"
	rm -f -- "$probe" 2>/dev/null
	[[ -e $CFG ]] || return 0
	ln -- "$CFG" "$probe" 2>/dev/null ||
		fail config-immutable "cannot link to $CFG (immutable or append-only?), so it cannot be replaced: chattr -i -a it first"
	rm -f -- "$probe" 2>/dev/null
}

check_restart_tool() {
	[[ $RESTART == true ]] || return 0
	if [[ $INIT == systemd ]]; then
		command -v systemctl >/dev/null 2>&1 || fail restart-tool-missing "systemctl not found: is this Amazon Linux 2 or 2023?"
	else
		if ! command -v start >/dev/null 2>&1 || ! command -v stop >/dev/null 2>&1; then
			fail restart-tool-missing "upstart's start and stop not found: is this Amazon Linux 1?"
		fi
	fi
}

# old_data: M_* = the members of the old ECS_ENGINE_AUTH_DATA (D_VAL), or of
# it unquoted (QUOTED=1), or none (not JSON: a note). OLD_LIVE=1 when the
# agent reads it now: a known type (T_VAL exactly as ecs-init passes it),
# the value as written parses, and no member makes the agent drop it all.
old_data() {
	QUOTED=0 OLD_LIVE=0 M_N=0
	((D_CNT > 0)) || return 0
	if parse_members "$D_VAL"; then
		if [[ $T_VAL == dockercfg || $T_VAL == docker ]] && ! rejected_member "$T_VAL"; then OLD_LIVE=1; fi
	elif unquote "$D_VAL" && parse_members "$UQ"; then
		QUOTED=1
	else
		M_N=0
		note "the old ECS_ENGINE_AUTH_DATA is not a JSON object; it is replaced (the backup keeps it)"
	fi
}

# plan_config: reads CFG and decides. Sets UNCHANGED, NEW_JSON, OTHERS and
# KEPT (the raw keys of the other registries' members, comma-separated).
plan_config() {
	local i ours placed=0 matches=0 same=0 type_cmp
	read_lines "$CFG"
	scan_lines
	norm_key "$REGISTRY_KEY"
	ours=$NK
	old_data
	OTHERS=0 NEW_JSON='{' KEPT=''
	for ((i = 0; i < M_N; i++)); do
		norm_key "${M_KDEC[i]}"
		if [[ $NK == "$ours" ]]; then
			matches=$((matches + 1))
			[[ ${M_KRAW[i]} == "$P_KRAW" && ${M_VRAW[i]} == "$P_VRAW" ]] && same=1
			((placed)) && continue
			placed=1
			[[ $NEW_JSON == '{' ]] || NEW_JSON+=,
			NEW_JSON+="$P_KRAW:$P_VRAW"
		else
			OTHERS=$((OTHERS + 1))
			[[ $NEW_JSON == '{' ]] || NEW_JSON+=,
			NEW_JSON+="${M_KRAW[i]}:${M_VRAW[i]}"
			KEPT+=${KEPT:+,}${M_KRAW[i]}
		fi
	done
	if ((!placed)); then
		[[ $NEW_JSON == '{' ]] || NEW_JSON+=,
		NEW_JSON+="$P_KRAW:$P_VRAW"
	fi
	NEW_JSON+='}'
	unquote "$T_VAL"
	type_cmp=${UQ%"${UQ##*[![:space:]]}"}
	if ((OTHERS > 0)) && [[ $type_cmp != "$AUTH_TYPE" ]]; then
		fail auth-type-mismatch "ECS_ENGINE_AUTH_TYPE is '${type_cmp:0:40}' and ECS_ENGINE_AUTH_DATA holds $OTHERS other registries' entries, which $AUTH_TYPE would break; convert them or use that auth type"
	fi
	UNCHANGED=0
	if ((T_CNT == 1 && D_CNT == 1 && !QUOTED && matches == 1 && same)) && [[ $T_VAL == "$AUTH_TYPE" ]]; then
		UNCHANGED=1
	fi
	check_new_data "$ours"
	if ((OTHERS > 0 && !OLD_LIVE)); then
		# The agent could not read the old value: the rewrite makes these
		# entries live for the first time.
		key_list "$KEPT" 500
		if ((KL_OMITTED == 0)); then
			note "dormant-keys $KL_B64"
		else
			note "dormant-keys $KL_B64 more=$KL_OMITTED"
		fi
	fi
}

# check_new_data OURS: the new ECS_ENGINE_AUTH_DATA as the agent will parse
# it under AUTH_TYPE: a member that would make it drop every registry
# fails (its key named, never its value). Sets KEYS_FIELDS for the ok line.
check_new_data() {
	local i k host first='' rest=''
	parse_members "$NEW_JSON" || fail write-failed "the new ECS_ENGINE_AUTH_DATA is not JSON; nothing was changed"
	if rejected_member "$AUTH_TYPE"; then
		fail auth-data-invalid "the ECS_ENGINE_AUTH_DATA entry for '${M_KDEC[REJECTED]:0:100}' would make the agent drop every registry: $(entry_rule "$AUTH_TYPE"); fix or remove it"
	fi
	# Keys on our registry's host first: the ones the agent weighs for its images.
	host=${1%%/*}
	for ((i = 0; i < M_N; i++)); do
		norm_key "${M_KDEC[i]}"
		k=$NK
		if [[ $k == "$host" || $k == "$host"/* ]]; then
			first+=${first:+,}${M_KRAW[i]}
		else
			rest+=${rest:+,}${M_KRAW[i]}
		fi
	done
	key_list "$first${first:+${rest:+,}}$rest" 900
	KEYS_FIELDS="keys=$KL_B64"
	((KL_OMITTED == 0)) || KEYS_FIELDS+=" keys-omitted=$KL_OMITTED"
}

# entry_rule TYPE: what the agent needs of each entry, for a message.
entry_rule() {
	case $1 in
	dockercfg) printf '%s' 'a dockercfg entry must be an object (or null) whose auth, if any, is a string' ;;
	docker) printf '%s' 'a docker entry must be an object (or null) whose username, password, auth, email, serveraddress, identitytoken and registrytoken, if any, are strings' ;;
	esac
}

# key_list RAWKEYS MAX: KL_B64 = base64 of the JSON array of RAWKEYS (JSON
# strings as written, comma-separated), as many as fit in MAX base64
# characters; KL_OMITTED = how many did not. Base64: no key text, however
# hostile, can break the line it is printed on.
key_list() {
	local json='[' k len rest=$1
	KL_OMITTED=0
	while [[ -n $rest ]]; do
		next_json_string "$rest"
		k=$JS_HEAD rest=$JS_TAIL
		len=$((${#json} + ${#k} + 2))
		if ((KL_OMITTED == 0 && 4 * ((len + 2) / 3) <= $2)); then
			[[ $json == '[' ]] || json+=,
			json+=$k
		else
			KL_OMITTED=$((KL_OMITTED + 1))
		fi
	done
	json+=']'
	b64_encode "$json"
	KL_B64=$B64
}

# next_json_string LIST: JS_HEAD = the first JSON string of LIST (strings as
# written, comma-separated), JS_TAIL = the rest after its comma.
next_json_string() {
	local s=$1 i=1 c
	while ((i < ${#s})); do
		c=${s:i:1}
		if [[ $c == "\\" ]]; then
			i=$((i + 2))
			continue
		fi
		[[ $c == '"' ]] && break
		i=$((i + 1))
	done
	JS_HEAD=${s:0:i+1}
	JS_TAIL=${s:i+2}
}

# new_temp: TMP = a new empty temp file (0600) next to the config; status 1
# when it cannot be made.
new_temp() {
	TMP=$(mktemp "$CFG_DIR/.$CFG_BASE.$TAG.XXXXXX" 2>/dev/null) || return 1
	TMPFILES+=("$TMP")
}

# own_like TEMP REFERENCE: give TEMP the owner and mode of REFERENCE.
own_like() {
	if ! chown --reference="$2" -- "$1" 2>/dev/null || ! chmod --reference="$2" -- "$1" 2>/dev/null; then
		fail write-failed "cannot give $1 the owner and mode of $2"
	fi
}

# ---------------------------------------------------------------- this run's state

# $STATE (0600, next to the config) holds what a re-run and the rollback of
# this run need; none of it is ever printed:
#   mode=, owner=  the original config's mode and uid:gid when the backup
#                  was taken (the backup itself is 0600)
#   sha256=        the original's checksum, which the backup must still
#                  match (derived from the old password: it stays here)
#   phase=         backed-up | written | restored: how far this run went
#   restarted=     file_id of the config when this run last restarted the
#                  agent: a re-run that finds the same file leaves it be
#                  (upstart has no start time to compare with)

state_load() {
	local k v re_mode='^[0-7]{3,4}$' re_owner='^[0-9]+:[0-9]+$' re_sha='^[0-9a-f]{64}$' re_id='^[0-9A-Za-z:._+-]+$'
	S_MODE='' S_OWNER='' S_SHA='' S_PHASE='' S_RESTARTED=''
	[[ -f $STATE && ! -L $STATE ]] || return 0
	while IFS='=' read -r k v; do
		case $k in
		mode) [[ $v =~ $re_mode ]] && S_MODE=$v ;;
		owner) [[ $v =~ $re_owner ]] && S_OWNER=$v ;;
		sha256) [[ $v =~ $re_sha ]] && S_SHA=$v ;;
		phase) case $v in backed-up | written | restored) S_PHASE=$v ;; esac ;;
		restarted) [[ $v =~ $re_id ]] && S_RESTARTED=$v ;;
		esac
	done <"$STATE"
}

# state_save: the S_* variables to $STATE, through a temp file; status 1
# when that fails.
state_save() {
	new_temp || return 1
	printf 'mode=%s\nowner=%s\nsha256=%s\nphase=%s\nrestarted=%s\n' \
		"$S_MODE" "$S_OWNER" "$S_SHA" "$S_PHASE" "$S_RESTARTED" >"$TMP" 2>/dev/null &&
		mv -f -- "$TMP" "$STATE" 2>/dev/null
}

# file_id: FILE_ID = the config's device, inode and mtime (ns): a rename
# over it (a new inode) or an edit in place (a new mtime) changes it;
# FILE_MTIME = its mtime in seconds, WRITTEN = the ok line's written=
# (date -r's %s.%N). Status 1 when stat fails.
file_id() {
	local id ns re='^[0-9]{9}$'
	WRITTEN=''
	id=$(stat -c '%Y %d:%i:%y' -- "$CFG" 2>/dev/null) || return 1
	FILE_MTIME=${id%% *}
	id=${id#* }
	FILE_ID=${id// /_}
	ns=${id#*.}
	ns=${ns%% *}
	[[ $ns =~ $re ]] && WRITTEN=$FILE_MTIME.$ns
	return 0
}

# take_backup: the original config, once per run, mode 0600 whatever the
# config's (it holds the old credentials) and the config's owner; its mode,
# owner and checksum go to $STATE first, for the rollback.
take_backup() {
	local bak re='^[0-7]{3,4} [0-9]+:[0-9]+$' info
	new_temp || fail write-failed "cannot create a temp file in $CFG_DIR"
	bak=$TMP
	cat -- "$CFG" >"$bak" 2>/dev/null || fail write-failed "cannot copy $CFG to a temp file"
	if ! chown --reference="$CFG" -- "$bak" 2>/dev/null || ! chmod 600 -- "$bak" 2>/dev/null; then
		fail write-failed "cannot give the backup of $CFG its owner and mode 0600"
	fi
	if ! file_sums "$bak" "$CFG" || [[ ${SUMS[0]} != "${SUMS[1]}" ]]; then
		fail write-failed "the backup copy of $CFG differs from it"
	fi
	info=$(stat -c '%a %u:%g' -- "$CFG" 2>/dev/null)
	[[ $info =~ $re ]] || fail write-failed "cannot read the mode and owner of $CFG"
	S_MODE=${info% *} S_OWNER=${info#* } S_SHA=${SUMS[0]} S_PHASE=backed-up S_RESTARTED=''
	state_save || fail write-failed "cannot write $STATE"
	mv -f -- "$bak" "$BACKUP" 2>/dev/null || fail write-failed "cannot write $BACKUP"
}

# verify_backup: refuses a backup that is not the file it was taken from.
# After it, the backup's checksum is S_SHA.
verify_backup() {
	[[ -n $S_SHA && -n $S_MODE && -n $S_OWNER ]] ||
		fail backup-mismatch "no checksum, mode and owner were recorded for $BACKUP ($STATE is missing or incomplete): it is not restored"
	if ! file_sums "$BACKUP" || [[ ${SUMS[0]} != "$S_SHA" ]]; then
		fail backup-mismatch "$BACKUP does not match the checksum recorded when it was taken: it is not restored"
	fi
}

# config_is_original (after verify_backup): status 0 when the config holds
# the backup's bytes with the original's mode and owner.
config_is_original() {
	[[ -f $CFG ]] && file_sums "$CFG" && [[ ${SUMS[0]} == "$S_SHA" ]] &&
		[[ $(stat -c '%a %u:%g' -- "$CFG" 2>/dev/null) == "$S_MODE $S_OWNER" ]]
}

# restore_backup (after verify_backup): the backup over the config, through
# a temp file, with the original's recorded mode and owner.
restore_backup() {
	new_temp || fail write-failed "cannot create a temp file in $CFG_DIR"
	cat -- "$BACKUP" >"$TMP" 2>/dev/null || fail write-failed "cannot copy $BACKUP to a temp file"
	if ! chown -- "$S_OWNER" "$TMP" 2>/dev/null || ! chmod -- "$S_MODE" "$TMP" 2>/dev/null; then
		fail write-failed "cannot give the restored $CFG its original owner and mode"
	fi
	if ! file_sums "$TMP" || [[ ${SUMS[0]} != "$S_SHA" ]]; then
		fail write-failed "the copy of $BACKUP differs from it"
	fi
	mv -f -- "$TMP" "$CFG" 2>/dev/null || fail write-failed "cannot rename the temp file over $CFG"
	WRITTEN=''
}

# write_config: the new config through a temp file, re-read, renamed over.
write_config() {
	local i m=0 end_nl=$LAST_NL eol='' crlf=0 out=() t_done=0 d_done=0 last
	[[ $LN -gt 0 && ${L[0]} == *$'\r' ]] && crlf=1
	for ((i = 0; i < LN; i++)); do
		eol=''
		[[ ${L[i]} == *$'\r' ]] && eol=$'\r'
		if line_kv "${L[i]}" && [[ $K == ECS_ENGINE_AUTH_TYPE || $K == ECS_ENGINE_AUTH_DATA ]]; then
			if [[ $K == ECS_ENGINE_AUTH_TYPE ]] && ((!t_done)); then
				out[m]="ECS_ENGINE_AUTH_TYPE=$AUTH_TYPE$eol"
				m=$((m + 1)) t_done=1
			elif [[ $K == ECS_ENGINE_AUTH_DATA ]] && ((!d_done)); then
				out[m]="ECS_ENGINE_AUTH_DATA=$NEW_JSON$eol"
				m=$((m + 1)) d_done=1
			elif ((i == LN - 1 && !LAST_NL)); then
				end_nl=1 # the line without newline goes; the one before had one
			fi
			continue
		fi
		out[m]=${L[i]}
		m=$((m + 1))
	done
	if ((!t_done || !d_done)); then
		eol=''
		((crlf)) && eol=$'\r'
		if ((m > 0 && !end_nl)); then
			last=${out[m - 1]}
			((crlf)) && [[ $last != *$'\r' ]] && out[m - 1]="$last"$'\r'
		fi
		((t_done)) || { out[m]="ECS_ENGINE_AUTH_TYPE=$AUTH_TYPE$eol" && m=$((m + 1)); }
		((d_done)) || { out[m]="ECS_ENGINE_AUTH_DATA=$NEW_JSON$eol" && m=$((m + 1)); }
		end_nl=1
	fi

	new_temp || fail write-failed "cannot create a temp file in $CFG_DIR"
	{
		for ((i = 0; i < m; i++)); do
			if ((i < m - 1 || end_nl)); then printf '%s\n' "${out[i]}"; else printf '%s' "${out[i]}"; fi
		done
	} >"$TMP" 2>/dev/null || fail write-failed "cannot write a temp file in $CFG_DIR"
	own_like "$TMP" "$CFG"

	# Re-read the temp file as ecs-init will. The data is NEW_JSON, which
	# check_new_data parsed as the agent will.
	read_lines "$TMP"
	scan_lines
	if ((LN != m || T_CNT != 1 || D_CNT != 1)) || [[ $T_VAL != "$AUTH_TYPE" || $D_VAL != "$NEW_JSON" ]]; then
		fail write-failed "the new ecs.config did not read back as written; nothing was changed"
	fi
	mv -f -- "$TMP" "$CFG" 2>/dev/null || fail write-failed "cannot rename the temp file over $CFG"
	WRITTEN=''
}

# systemd_ecs: U_STATE (ActiveState) and U_START (ActiveEnterTimestamp in
# epoch seconds, '' unknown) of the ecs unit; status 1 without systemd or
# an answer. systemd 219 (AL2) has no --value: parse Key=value.
systemd_ecs() {
	local out ts
	U_STATE='' U_START=''
	[[ $INIT == systemd ]] || return 1
	out=$(systemctl show ecs --property=ActiveState --property=ActiveEnterTimestamp 2>/dev/null 9>&-) || return 1
	show_prop "$out" ActiveState
	U_STATE=$PROP
	show_prop "$out" ActiveEnterTimestamp
	ts=$PROP
	if [[ -n $ts ]]; then U_START=$(date -d "$ts" +%s 2>/dev/null); fi
	return 0
}

# show_prop OUT NAME: PROP = the values of the lines NAME=value of OUT, one
# a line, without trailing newlines (as $(sed -n 's/^NAME=//p') has them).
show_prop() {
	local rest=$1$'\n' line
	PROP=''
	while [[ -n $rest ]]; do
		line=${rest%%$'\n'*}
		rest=${rest#*$'\n'}
		[[ $line == "$2="* ]] && PROP+=${line#"$2="}$'\n'
	done
	while [[ $PROP == *$'\n' ]]; do PROP=${PROP%$'\n'}; done
}

# agent_current: status 0 when the agent runs with the config as it is
# now: this run restarted it when the config was this very file ($STATE
# says so, and systemd, where it answers, does not say the unit is down),
# or systemd says the unit became active after the file's mtime.
agent_current() {
	file_id || return 1
	if [[ -n $S_RESTARTED && $S_RESTARTED == "$FILE_ID" ]]; then
		systemd_ecs || return 0
		[[ -z $U_STATE || $U_STATE == active ]]
		return
	fi
	systemd_ecs || return 1
	[[ $U_STATE == active && -n $U_START ]] || return 1
	((U_START > FILE_MTIME))
}

# restart_agent WHAT: restarts the agent; WHAT says what was done before, for
# the error message. The lock's descriptor stays with this script.
restart_agent() {
	local out
	if [[ $INIT == systemd ]]; then
		out=$(systemctl restart ecs 2>&1 9>&-) || fail restart-failed "$1; systemctl restart ecs failed: ${out%%$'\n'*}"
	else
		stop ecs >/dev/null 2>&1 9>&- # not running is fine
		out=$(start ecs 2>&1 9>&-) || fail restart-failed "$1; start ecs failed: ${out%%$'\n'*}"
	fi
}

# settle_agent FILE WROTE WHAT: restarts the agent, unless told not to or
# (WROTE 0: this script did not just write the config) it runs with the
# config as it is; records the restart in $STATE; finishes with FILE. WHAT
# says what was done, for an error message.
settle_agent() {
	[[ $RESTART == true ]] || finish "$1" not-restarted
	if (($2 == 0)) && agent_current; then finish "$1" restart-not-needed; fi
	restart_agent "$3"
	if file_id; then
		S_RESTARTED=$FILE_ID
		state_save || note "cannot record the agent's restart in $STATE: a re-run will restart it again"
	fi
	finish "$1" restarted
}

# ---------------------------------------------------------------- backups

# list_backups: B_RUNS = the run ids of the backups next to the config,
# oldest first: run ids start with a UTC timestamp, so name order (bytes,
# LC_ALL=C) is age order.
list_backups() {
	local f id re='^[a-z0-9-]{1,64}$'
	B_RUNS=()
	for f in "$CFG.$TAG-"*.bak; do
		[[ -f $f && ! -L $f ]] || continue
		id=${f#"$CFG.$TAG-"}
		id=${id%.bak}
		[[ $id =~ $re ]] && B_RUNS+=("$id")
	done
}

# prior_run: PRIOR = the run id of the newest backup that is not this
# run's, or -.
prior_run() {
	local i
	list_backups
	for ((i = ${#B_RUNS[@]} - 1; i >= 0; i--)); do
		if [[ ${B_RUNS[i]} != "$RUN_ID" ]]; then
			PRIOR=${B_RUNS[i]}
			return
		fi
	done
	PRIOR=-
}

# prune_backups: the backups hold old credentials: keep this run's and the
# newest other one (two in all), delete the older ones, then the state
# files whose backup is gone (or never was) except this run's. PRUNED =
# the backups deleted.
prune_backups() {
	local i id f keep=" $RUN_ID " kept=0 re='^[a-z0-9-]{1,64}$'
	list_backups
	[[ -f $BACKUP ]] && kept=1
	for ((i = ${#B_RUNS[@]} - 1; i >= 0; i--)); do
		id=${B_RUNS[i]}
		[[ $id == "$RUN_ID" ]] && continue
		if ((kept < 2)); then
			keep+="$id " kept=$((kept + 1))
		elif rm -f -- "$CFG.$TAG-$id.bak" 2>/dev/null; then
			PRUNED=$((PRUNED + 1))
		fi
	done
	for f in "$CFG.$TAG-"*.state; do
		[[ -f $f && ! -L $f ]] || continue
		id=${f#"$CFG.$TAG-"}
		id=${id%.state}
		[[ $id =~ $re && $keep != *" $id "* && ! -e $CFG.$TAG-$id.bak ]] && rm -f -- "$f" 2>/dev/null
	done
	return 0
}

# ---------------------------------------------------------------- modes

# do_rollback: puts this run's backup back, once.
do_rollback() {
	local file=restored wrote=0
	[[ -f $BACKUP ]] || fail no-backup "no backup $BACKUP: this run did not change $CFG"
	verify_backup
	if config_is_original; then
		# Back already: by this run's rollback, or never changed by the apply.
		[[ $S_PHASE == restored ]] || file=unchanged
	else
		S_PHASE=restored S_RESTARTED=''
		state_save || fail write-failed "cannot write $STATE"
		restore_backup
		wrote=1
	fi
	settle_agent "$file" "$wrote" "$CFG was restored from $BACKUP"
}

do_preflight() {
	if ((UNCHANGED)); then
		note "ecs.config holds these credentials already; apply would not rewrite it"
	else
		note "apply would rewrite ECS_ENGINE_AUTH_TYPE and ECS_ENGINE_AUTH_DATA ($OTHERS other registries kept)"
	fi
	finish checked not-restarted
}

# do_apply: writes the config once per run. A file that holds the data
# already is this run's own earlier write when its backup is there and
# $STATE says written (file=updated: that is the instance's outcome), else
# someone else's (file=unchanged).
do_apply() {
	local file=updated wrote=0
	if ((UNCHANGED)); then
		[[ -f $BACKUP && $S_PHASE == written ]] || file=unchanged
	else
		if [[ -e $BACKUP || -L $BACKUP ]]; then
			[[ -f $BACKUP && ! -L $BACKUP ]] || fail write-failed "$BACKUP exists and is not a regular file"
			note "backup $BACKUP exists already (an earlier attempt of this run); it is kept"
		else
			take_backup
		fi
		S_PHASE=written S_RESTARTED=''
		state_save || fail write-failed "cannot write $STATE"
		write_config
		wrote=1
	fi
	prune_backups
	settle_agent "$file" "$wrote" "$CFG was $file (backup $BACKUP)"
}

check_params
resolve_config
take_lock
check_config
check_replaceable
check_restart_tool
state_load
[[ $MODE == rollback ]] && do_rollback
load_payload
plan_config
[[ $MODE == preflight ]] && do_preflight
do_apply
