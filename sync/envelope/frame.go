package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// A batch travels in one of two framings; central reads both.
//
// Version 2 (written since this version): a header line, then each event's
// JSON exactly as the site stored it in its outbox, one per line:
//
//	{"v":2,"site":"s1","tz":"Europe/Berlin","first":7,"last":9}
//	{"v":2,"site":"s1","seq":7,"kind":"sale","time":"…","data":{…}}
//	{"v":2,"site":"s1","seq":8,…}
//	{"v":2,"site":"s1","seq":9,…}
//
// The forwarder builds it from the stored bytes without decoding them, and
// central decodes each event once.
//
// Version 1: Batch as one JSON object, its events in an "events" array. A
// site's outbox or central's stream may still hold batches an older binary
// wrote, so ParseFrame keeps reading them.
//
// The event JSON is the same in both: an Event, with Data the kind's
// struct.

// Record is one event as a site's outbox holds it: its sequence, its event
// time and its JSON (an Event) as written.
type Record struct {
	Seq  uint64
	Time time.Time
	JSON []byte
}

// Header is what a batch says about the events it carries: whose they are,
// the site's timezone, and the contiguous run First..Last.
type Header struct {
	V     int    `json:"v"`
	Site  string `json:"site"`
	TZ    string `json:"tz"` // the site's IANA timezone: central buckets by it
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
}

// MsgID is the batch's JetStream de-duplication id: <site>:<first>-<last>.
func (h *Header) MsgID() string { return fmt.Sprintf("%s:%d-%d", h.Site, h.First, h.Last) }

// Frame is a batch as it travels: its header and each event's JSON, not
// decoded. Events alias the buffer the frame was parsed from.
type Frame struct {
	Header
	Events [][]byte
}

// ErrBadFrame is wrapped by every error of ParseFrame and Frame.Validate;
// the error for a batch newer than this binary wraps ErrTooNew as well.
var ErrBadFrame = errors.New("malformed batch")

// Append appends f in the version 2 framing (the header's V as set by the
// caller) to dst. Events are written as they are; one that spans lines (not
// written by json.Marshal) is compacted first. It returns an error naming an
// event that is not JSON.
func (f *Frame) Append(dst []byte) ([]byte, error) {
	h, err := json.Marshal(&f.Header)
	if err != nil {
		return nil, fmt.Errorf("encode batch header: %w", err)
	}
	dst = append(append(dst, h...), '\n')
	for i, e := range f.Events {
		if bytes.IndexByte(e, '\n') < 0 {
			dst = append(append(dst, e...), '\n')
			continue
		}
		buf := bytes.NewBuffer(dst)
		if err := json.Compact(buf, e); err != nil {
			return nil, fmt.Errorf("batch %s: event %d: %w", f.MsgID(), f.First+uint64(i), err)
		}
		dst = append(buf.Bytes(), '\n')
	}
	return dst, nil
}

// ParseFrame splits a batch message into its header and events without
// decoding the events. It reads the version 2 framing and the version 1 JSON
// object. It returns an error wrapping ErrBadFrame when data is neither.
// The frame is not validated: see Validate.
func ParseFrame(data []byte) (*Frame, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		var h Header
		if json.Unmarshal(data[:i], &h) == nil && h.V >= 2 {
			f := &Frame{Header: h}
			if h.Last >= h.First && h.Last-h.First < 1<<16 {
				f.Events = make([][]byte, 0, h.Last-h.First+1)
			}
			for rest := data[i+1:]; len(rest) > 0; {
				line := rest
				if j := bytes.IndexByte(rest, '\n'); j >= 0 {
					line, rest = rest[:j], rest[j+1:]
				} else {
					rest = nil
				}
				if len(line) == 0 {
					return nil, fmt.Errorf("%w: batch %s: empty line", ErrBadFrame, h.MsgID())
				}
				f.Events = append(f.Events, line)
			}
			return f, nil
		}
	}
	var v1 struct {
		Header
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFrame, err)
	}
	f := &Frame{Header: v1.Header, Events: make([][]byte, len(v1.Events))}
	for i, e := range v1.Events {
		f.Events[i] = e
	}
	return f, nil
}

// Validate checks the frame's header and that it carries one event per
// sequence First..Last; the events themselves are checked by whoever decodes
// them (DecodeEvent). Errors wrap ErrBadFrame.
func (f *Frame) Validate() error {
	if err := CheckVersion("batch", f.V); err != nil {
		// A batch too new also wraps ErrTooNew: a newer binary reads it, so
		// whoever checks must test ErrTooNew first and keep it.
		return fmt.Errorf("%w: %w", ErrBadFrame, err)
	}
	if err := ValidateSiteID(f.Site); err != nil {
		return fmt.Errorf("%w: %w", ErrBadFrame, err)
	}
	if len(f.Events) == 0 || f.First == 0 || f.Last < f.First || uint64(len(f.Events)) != f.Last-f.First+1 {
		return fmt.Errorf("%w: batch %s: %d events do not cover %d..%d", ErrBadFrame, f.MsgID(), len(f.Events), f.First, f.Last)
	}
	return nil
}

// Frame encodes b's events (see Event.AppendJSON) into a Frame with b's
// header. It fails for an event AppendJSON cannot encode.
func (b *Batch) Frame() (*Frame, error) {
	f := &Frame{Header: Header{V: b.V, Site: b.Site, TZ: b.TZ, First: b.First, Last: b.Last}, Events: make([][]byte, len(b.Events))}
	for i := range b.Events {
		var err error
		if f.Events[i], err = b.Events[i].AppendJSON(nil); err != nil {
			return nil, fmt.Errorf("batch %s: %w", b.MsgID(), err)
		}
	}
	return f, nil
}

// DecodeEvent decodes one event's JSON; Data stays undecoded (its type
// depends on Kind). It returns an error when raw is not an event.
func DecodeEvent(raw []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return Event{}, fmt.Errorf("decode event: %w", err)
	}
	return e, nil
}

// AppendJSON appends e encoded as json.Marshal would encode it, without
// reflection. Data must be valid compact JSON (what json.Marshal makes); an
// empty Data is written as null. It fails, as json.Marshal does, for a time
// whose year is outside 0..9999.
func (e *Event) AppendJSON(dst []byte) ([]byte, error) {
	t, err := e.Time.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode event %d: %w", e.Seq, err)
	}
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, int64(e.V), 10)
	dst = append(dst, `,"site":`...)
	dst = appendString(dst, e.Site)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, e.Seq, 10)
	dst = append(dst, `,"kind":`...)
	dst = appendString(dst, string(e.Kind))
	dst = append(dst, `,"time":`...)
	dst = append(dst, t...)
	dst = append(dst, `,"data":`...)
	if len(e.Data) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, e.Data...)
	}
	return append(dst, '}'), nil
}

// appendString appends s as a JSON string, as json.Marshal quotes it.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
