package awsfake

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"time"

	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/document"
	smithytime "github.com/aws/smithy-go/time"
	"github.com/aws/smithy-go/traits"
)

// jsonShapeWriter renders SDK output shapes the way an awsJson 1.1 service
// does. The SDK's own JSON codec is internal to smithy-go, but every SDK
// shape can describe itself to any smithy.ShapeSerializer; driving that with
// the model's member names means the fake's responses cannot drift from the
// shapes the client decodes.
type jsonShapeWriter struct {
	buf   []byte
	stack []jsonFrame
	// key set by WriteKey for the next map value; member names otherwise.
	pendingKey *string
}

type jsonFrame struct {
	object bool
	n      int
}

var _ smithy.ShapeSerializer = (*jsonShapeWriter)(nil)

// marshalShape serialises v (an SDK output or types value) to JSON bytes.
func marshalShape(v smithy.Serializable) []byte {
	w := &jsonShapeWriter{}
	v.Serialize(w)
	if len(w.buf) == 0 {
		return []byte("{}")
	}
	return w.buf
}

func (w *jsonShapeWriter) Bytes() []byte { return append([]byte(nil), w.buf...) }

func (w *jsonShapeWriter) prefix(schema *smithy.Schema) {
	if len(w.stack) == 0 {
		return
	}
	top := &w.stack[len(w.stack)-1]
	if top.n > 0 {
		w.buf = append(w.buf, ',')
	}
	top.n++
	if !top.object {
		return
	}
	key := ""
	switch {
	case w.pendingKey != nil:
		key = *w.pendingKey
		w.pendingKey = nil
	case schema != nil:
		key = schema.MemberName()
	}
	w.buf = appendJSONString(w.buf, key)
	w.buf = append(w.buf, ':')
}

func (w *jsonShapeWriter) open(schema *smithy.Schema, c byte, object bool) {
	w.prefix(schema)
	w.buf = append(w.buf, c)
	w.stack = append(w.stack, jsonFrame{object: object})
}

func (w *jsonShapeWriter) close(c byte) {
	w.buf = append(w.buf, c)
	w.stack = w.stack[:len(w.stack)-1]
}

func (w *jsonShapeWriter) raw(schema *smithy.Schema, p []byte) {
	w.prefix(schema)
	w.buf = append(w.buf, p...)
}

func (w *jsonShapeWriter) WriteInt8(s *smithy.Schema, v int8)   { w.WriteInt64(s, int64(v)) }
func (w *jsonShapeWriter) WriteInt16(s *smithy.Schema, v int16) { w.WriteInt64(s, int64(v)) }
func (w *jsonShapeWriter) WriteInt32(s *smithy.Schema, v int32) { w.WriteInt64(s, int64(v)) }
func (w *jsonShapeWriter) WriteInt64(s *smithy.Schema, v int64) {
	w.raw(s, strconv.AppendInt(nil, v, 10))
}
func (w *jsonShapeWriter) WriteFloat32(s *smithy.Schema, v float32) { w.WriteFloat64(s, float64(v)) }
func (w *jsonShapeWriter) WriteFloat64(s *smithy.Schema, v float64) {
	switch {
	case math.IsNaN(v):
		w.raw(s, []byte(`"NaN"`))
	case math.IsInf(v, 1):
		w.raw(s, []byte(`"Infinity"`))
	case math.IsInf(v, -1):
		w.raw(s, []byte(`"-Infinity"`))
	default:
		w.raw(s, strconv.AppendFloat(nil, v, 'f', -1, 64))
	}
}
func (w *jsonShapeWriter) WriteBool(s *smithy.Schema, v bool) {
	w.raw(s, strconv.AppendBool(nil, v))
}
func (w *jsonShapeWriter) WriteString(s *smithy.Schema, v string) {
	w.raw(s, appendJSONString(nil, v))
}
func (w *jsonShapeWriter) WriteBigInt(s *smithy.Schema, v *big.Int) {
	w.raw(s, []byte(v.String()))
}
func (w *jsonShapeWriter) WriteBigFloat(s *smithy.Schema, v *big.Float) {
	w.raw(s, []byte(v.Text('g', -1)))
}
func (w *jsonShapeWriter) WriteBlob(s *smithy.Schema, v []byte) {
	w.raw(s, appendJSONString(nil, base64.StdEncoding.EncodeToString(v)))
}

// WriteTime follows awsJson: epoch seconds (with milliseconds) unless the
// model says otherwise.
func (w *jsonShapeWriter) WriteTime(s *smithy.Schema, v time.Time) {
	format := "epoch-seconds"
	if s != nil {
		if t, ok := smithy.SchemaTrait[*traits.TimestampFormat](s); ok {
			format = t.Format
		}
	}
	switch format {
	case "date-time":
		w.WriteString(s, smithytime.FormatDateTime(v))
	case "http-date":
		w.WriteString(s, smithytime.FormatHTTPDate(v))
	default:
		w.WriteFloat64(s, smithytime.FormatEpochSeconds(v))
	}
}

func (w *jsonShapeWriter) WriteUnion(schema, variant *smithy.Schema) {
	w.open(schema, '{', true)
	name := variant.MemberName()
	w.pendingKey = &name
}
func (w *jsonShapeWriter) CloseUnion() { w.close('}') }

// WriteDocument is only reached by shapes the fake never fills (lifecycle
// hook details); plain JSON encoding is enough for them.
func (w *jsonShapeWriter) WriteDocument(s *smithy.Schema, v document.Value) {
	p, err := json.Marshal(v)
	if err != nil {
		p = []byte("null")
	}
	w.raw(s, p)
}
func (w *jsonShapeWriter) WriteNil(s *smithy.Schema) { w.raw(s, []byte("null")) }

func (w *jsonShapeWriter) WriteStruct(s *smithy.Schema) { w.open(s, '{', true) }
func (w *jsonShapeWriter) CloseStruct()                 { w.close('}') }
func (w *jsonShapeWriter) WriteList(s *smithy.Schema)   { w.open(s, '[', false) }
func (w *jsonShapeWriter) CloseList()                   { w.close(']') }
func (w *jsonShapeWriter) WriteMap(s *smithy.Schema)    { w.open(s, '{', true) }
func (w *jsonShapeWriter) CloseMap()                    { w.close('}') }
func (w *jsonShapeWriter) WriteKey(_ *smithy.Schema, key string) {
	w.pendingKey = &key
}

func appendJSONString(dst []byte, s string) []byte {
	p, _ := json.Marshal(s) // a string always marshals
	return append(dst, p...)
}
