package registryauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Check says whether the ECS agent reads data as ECS_ENGINE_AUTH_DATA of
// authType at all (parseAuthData): nil when its json.Unmarshal into the
// typed map succeeds, else an error that names what makes the agent drop
// every registry and pull anonymously: a value that is not a JSON object (a
// quoted "{...}" is a JSON string), or the first member whose value has the
// wrong shape for the agent's type (a string where an object belongs, a
// number where a string belongs). An empty or unknown type gives nothing
// either. Members whose dockercfg "auth" does not decode are dropped one by
// one, not the whole value, and are not errors here (Parse leaves them out).
// The error quotes member names, never values.
func Check(authType, data string) error {
	var target any
	switch authType {
	case TypeDocker:
		target = &map[string]dockerAuthConfig{}
	case TypeDockercfg:
		target = &map[string]dockercfgConfigEntry{}
	default:
		return fmt.Errorf("ECS_ENGINE_AUTH_TYPE %s is neither %s nor %s: the ECS agent reads no registry credentials at all", strconv.Quote(authType), TypeDockercfg, TypeDocker)
	}
	err := json.Unmarshal([]byte(data), target)
	if err == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(data)))
	tok, terr := dec.Token()
	if d, ok := tok.(json.Delim); terr != nil || !ok || d != '{' {
		what := "not a JSON object"
		if _, ok := tok.(string); ok && terr == nil {
			what = "a JSON string, not an object (a quoted value is not JSON to the agent: remove the quotes)"
		}
		return fmt.Errorf("ECS_ENGINE_AUTH_DATA is %s: the ECS agent drops every registry and pulls anonymously", what)
	}
	for dec.More() {
		tok, terr := dec.Token()
		name, ok := tok.(string)
		if terr != nil || !ok {
			break
		}
		var raw json.RawMessage
		if dec.Decode(&raw) != nil {
			break
		}
		if one := json.Unmarshal(raw, entryOf(authType)); one != nil {
			return fmt.Errorf("ECS_ENGINE_AUTH_DATA member %s is not what the agent reads for %s (%s): the agent drops every registry, not just this one, and pulls anonymously",
				strconv.Quote(name), authType, shapeOf(authType, one))
		}
	}
	return fmt.Errorf("ECS_ENGINE_AUTH_DATA is not valid JSON (%s): the ECS agent drops every registry and pulls anonymously", syntaxOf(err))
}

func entryOf(authType string) any {
	if authType == TypeDocker {
		return &dockerAuthConfig{}
	}
	return &dockercfgConfigEntry{}
}

// shapeOf says what the agent wants of one member, without its value.
func shapeOf(authType string, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("field %s must be a string, not a JSON %s", strconv.Quote(te.Field), te.Value)
	}
	if authType == TypeDocker {
		return `an object of strings, {"username","password",...}`
	}
	return `an object with a string "auth"`
}

// syntaxOf is a JSON error without any of the text it quotes.
func syntaxOf(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	return "it does not decode"
}
