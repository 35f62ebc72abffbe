package results

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/swarmjob/swarmjob/jobs"
)

// seg is a Segment with strings, for comparisons.
type seg struct {
	Stream jobs.Stream
	Start  bool
	Stamp  string
	Text   string
}

func toSeg(s Segment) seg {
	return seg{Stream: s.Stream, Start: s.Start, Stamp: string(s.Stamp), Text: string(s.Text)}
}

// readAll returns every segment of an Engine stream and the error that ended
// it (nil for a clean end).
func readAll(src io.Reader) ([]seg, error) {
	r := NewEngineReader(src)
	var out []seg
	for {
		s, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, toSeg(s))
	}
}

func TestEngineReader(t *testing.T) {
	const ts1, ts2 = "2026-11-26T08:00:00.1Z", "2026-11-26T08:00:01.2Z"
	tests := []struct {
		name   string
		frames []frame
		want   []seg
	}{
		{
			name:   "one line per message, streams apart",
			frames: []frame{{jobs.Stdout, ts1 + " out\n"}, {jobs.Stderr, ts2 + " err\n"}},
			want: []seg{
				{jobs.Stdout, true, ts1, "out\n"},
				{jobs.Stderr, true, ts2, "err\n"},
			},
		},
		{
			name: "a line split into messages keeps the first stamp only",
			frames: []frame{
				{jobs.Stdout, ts1 + " first "}, {jobs.Stderr, ts1 + " e\n"}, {jobs.Stdout, ts2 + " second\n"},
			},
			want: []seg{
				{jobs.Stdout, true, ts1, "first "},
				{jobs.Stderr, true, ts1, "e\n"},
				{jobs.Stdout, false, "", "second\n"},
			},
		},
		{
			name:   "a message of two lines stamps both",
			frames: []frame{{jobs.Stdout, ts1 + " a\nb\n"}},
			want:   []seg{{jobs.Stdout, true, ts1, "a\n"}, {jobs.Stdout, true, ts1, "b\n"}},
		},
		{
			name:   "a message without a stamp is text",
			frames: []frame{{jobs.Stdout, "plain\n"}},
			want:   []seg{{jobs.Stdout, true, "", "plain\n"}},
		},
		{
			name:   "an empty message yields nothing",
			frames: []frame{{jobs.Stdout, ts1 + " "}, {jobs.Stdout, ts2 + " x"}},
			want:   []seg{{jobs.Stdout, true, ts2, "x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(multiplex(t, tt.frames...))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEngineReaderErrors(t *testing.T) {
	var sys bytes.Buffer
	writeFrame(&sys, stdcopy.Stdout, ts+"before\n")
	writeFrame(&sys, stdcopy.Systemerr, "incomplete log stream: node n1 is not available\n")
	tests := []struct {
		name    string
		src     []byte
		wantSeg int
		wantErr string
	}{
		{"engine error inside the stream, after the output before it", sys.Bytes(), 1, "error from the engine in the log stream: incomplete log stream: node n1 is not available"},
		{"truncated header", []byte{1, 0, 0}, 0, "truncated frame header"},
		{"truncated payload", []byte{1, 0, 0, 0, 0, 0, 0, 9, 'a'}, 0, "truncated frame"},
		{"unknown stream type", []byte{7, 0, 0, 0, 0, 0, 0, 1, 'a'}, 0, "unknown stream type 7"},
		{"huge frame", []byte{1, 0, 0, 0, 0x7f, 0, 0, 0}, 0, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(bytes.NewReader(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if len(got) != tt.wantSeg {
				t.Errorf("got %d segments before the error, want %d", len(got), tt.wantSeg)
			}
		})
	}
}

// TestEngineReaderBuffered checks that Buffered tells a relaying caller when
// the next segment would block: within a message, and between messages
// already received, it is true; once all input is consumed, false.
func TestEngineReaderBuffered(t *testing.T) {
	pr, pw := io.Pipe()
	r := NewEngineReader(pr)
	var buf bytes.Buffer
	writeFrame(&buf, stdcopy.Stdout, ts+"a\nb\n")
	writeFrame(&buf, stdcopy.Stdout, ts+"c\n")
	go func() {
		_, err := pw.Write(buf.Bytes())
		pw.CloseWithError(err)
	}()
	var got []bool
	for range 3 {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Buffered())
	}
	if diff := cmp.Diff([]bool{true, true, false}, got); diff != "" {
		t.Errorf("Buffered after each segment (-want +got):\n%s", diff)
	}
}

func TestSplitter(t *testing.T) {
	const ts1 = "2026-11-26T08:00:00.1Z"
	tests := []struct {
		name   string
		chunks []jobs.LogChunk
		want   []seg
	}{
		{
			name:   "whole lines",
			chunks: []jobs.LogChunk{chunk(jobs.Stdout, ts1+" a\n"+ts1+" b\n")},
			want:   []seg{{jobs.Stdout, true, ts1, "a\n"}, {jobs.Stdout, true, ts1, "b\n"}},
		},
		{
			name: "a chunk boundary inside a stamp, with the other stream between",
			chunks: []jobs.LogChunk{
				chunk(jobs.Stdout, "2026-11-"), chunk(jobs.Stderr, ts1+" e\n"), chunk(jobs.Stdout, "26T08:00:00.1Z"), chunk(jobs.Stdout, " o\n"),
			},
			want: []seg{{jobs.Stderr, true, ts1, "e\n"}, {jobs.Stdout, true, ts1, "o\n"}},
		},
		{
			name:   "a chunk boundary inside a line",
			chunks: []jobs.LogChunk{chunk(jobs.Stdout, ts1+" fir"), chunk(jobs.Stdout, "st\n"+ts1+" x")},
			want:   []seg{{jobs.Stdout, true, ts1, "fir"}, {jobs.Stdout, false, "", "st\n"}, {jobs.Stdout, true, ts1, "x"}},
		},
		{
			name:   "a line without a stamp",
			chunks: []jobs.LogChunk{chunk(jobs.Stderr, "plain\n")},
			want:   []seg{{jobs.Stderr, true, "", "plain\n"}},
		},
		{
			name:   "a stamp cut off at the end yields nothing",
			chunks: []jobs.LogChunk{chunk(jobs.Stdout, ts1+" a\n2026-11")},
			want:   []seg{{jobs.Stdout, true, ts1, "a\n"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Splitter
			var got []seg
			for _, c := range tt.chunks {
				if err := s.Split(c, func(x Segment) error { got = append(got, toSeg(x)); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitterStopsAtError(t *testing.T) {
	boom := errors.New("client gone")
	var s Splitter
	n := 0
	err := s.Split(chunk(jobs.Stdout, ts+"a\n"+ts+"b\n"), func(Segment) error { n++; return boom })
	if !errors.Is(err, boom) || n != 1 {
		t.Errorf("err = %v after %d calls, want %v after 1", err, n, boom)
	}
}

func chunk(s jobs.Stream, data string) jobs.LogChunk {
	return jobs.LogChunk{Stream: s, Data: []byte(data)}
}

func TestPositionTrim(t *testing.T) {
	const ts1 = "2026-11-26T08:00:00.1Z"
	tests := []struct {
		name   string
		seen   []seg // advanced over, live
		stored []seg // the second reading
		want   []seg // what Trim lets through
	}{
		{
			name:   "nothing seen: everything passes",
			stored: []seg{{jobs.Stdout, true, ts1, "a\n"}},
			want:   []seg{{jobs.Stdout, true, ts1, "a\n"}},
		},
		{
			name:   "whole lines per stream",
			seen:   []seg{{jobs.Stdout, true, ts1, "a\n"}, {jobs.Stderr, true, ts1, "e\n"}},
			stored: []seg{{jobs.Stdout, true, ts1, "a\n"}, {jobs.Stdout, true, ts1, "b\n"}, {jobs.Stderr, true, ts1, "e\n"}, {jobs.Stderr, true, ts1, "f\n"}},
			want:   []seg{{jobs.Stdout, true, ts1, "b\n"}, {jobs.Stderr, true, ts1, "f\n"}},
		},
		{
			name:   "a line seen in part continues without its stamp",
			seen:   []seg{{jobs.Stdout, true, ts1, "a\n"}, {jobs.Stdout, true, ts1, "hel"}},
			stored: []seg{{jobs.Stdout, true, ts1, "a\n"}, {jobs.Stdout, true, ts1, "he"}, {jobs.Stdout, false, "", "llo\n"}},
			want:   []seg{{jobs.Stdout, false, "", "lo\n"}},
		},
		{
			name:   "stored output shorter than what was seen",
			seen:   []seg{{jobs.Stdout, true, ts1, "a\n"}, {jobs.Stdout, true, ts1, "b\n"}},
			stored: []seg{{jobs.Stdout, true, ts1, "a\n"}, {jobs.Stdout, true, ts1, "b"}},
		},
		{
			name:   "a stored line shorter than the part seen does not eat the next",
			seen:   []seg{{jobs.Stdout, true, ts1, "abcdef"}},
			stored: []seg{{jobs.Stdout, true, ts1, "abc\n"}, {jobs.Stdout, true, ts1, "next\n"}},
			want:   []seg{{jobs.Stdout, true, ts1, "next\n"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Position
			for _, s := range tt.seen {
				p.Advance(fromSeg(s))
			}
			var got []seg
			for _, s := range tt.stored {
				if rest, ok := p.Trim(fromSeg(s)); ok {
					got = append(got, toSeg(rest))
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("trimmed (-want +got):\n%s", diff)
			}
		})
	}
}

func fromSeg(s seg) Segment {
	out := Segment{Stream: s.Stream, Start: s.Start, Text: []byte(s.Text)}
	if s.Stamp != "" {
		out.Stamp = []byte(s.Stamp)
	}
	return out
}

// framesFromFuzz turns fuzz input into Engine messages that carry real
// timestamps, as the Engine sends them: each message is a stream byte
// (odd: stderr), a length byte and that many bytes of text, which may hold
// spaces, newlines or nothing at all.
func framesFromFuzz(data []byte) []frame {
	var frames []frame
	for i := 0; len(data) >= 2; i++ {
		st := jobs.Stdout
		if data[0]%2 == 1 {
			st = jobs.Stderr
		}
		n := min(int(data[1]), len(data)-2)
		text := string(data[2 : 2+n])
		data = data[2+n:]
		frames = append(frames, frame{st, fmt.Sprintf("2026-11-26T08:00:%02d.%dZ %s", i%60, i, text)})
	}
	return frames
}

// FuzzHandOver checks the property live logs rest on: relaying any prefix of
// the Engine's stream live, then the stored capture of the whole stream
// trimmed by the Position of that prefix, shows exactly what rendering the
// stored output alone shows, with and without timestamps.
func FuzzHandOver(f *testing.F) {
	f.Add([]byte{0, 3, 'a', '\n', 'b', 1, 2, 'e', ' ', 0, 2, 'c', '\n'})
	f.Add([]byte{0, 4, 'p', 'a', 'r', 't', 0, 0, 0, 1, '\n', 1, 1, '\n'})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return // every cut is tried: keep each input quick
		}
		frames := framesFromFuzz(data)
		live, err := readAll(multiplex(t, frames...))
		if err != nil {
			t.Fatal(err)
		}
		var s stored
		if _, err := Capture(multiplex(t, frames...), 1<<20, s.append); err != nil {
			t.Fatal(err)
		}
		for _, stamps := range []bool{false, true} {
			want := s.render(stamps, all)
			for cut := 0; cut <= len(live); cut++ {
				var out []byte
				var p Position
				for _, l := range live[:cut] {
					x := fromSeg(l)
					if l.Stamp == "" && l.Start {
						x.Stamp = nil
					}
					out = AppendSegment(out, x, stamps)
					p.Advance(x)
				}
				var sp Splitter
				for _, c := range s.chunks {
					if err := sp.Split(c, func(x Segment) error {
						if rest, ok := p.Trim(x); ok {
							out = AppendSegment(out, rest, stamps)
						}
						return nil
					}); err != nil {
						t.Fatal(err)
					}
				}
				if string(out) != want {
					t.Fatalf("timestamps=%v, hand-over after %d of %d segments:\n got %q\nwant %q", stamps, cut, len(live), out, want)
				}
			}
		}
	})
}

// FuzzSplitter splits arbitrary stored data, cut into chunks anywhere and
// spread over both streams: segments are never empty, hold a newline only
// at their end, and only a segment after a line's end starts a line.
func FuzzSplitter(f *testing.F) {
	f.Add([]byte(ts+"a\n"+ts+"b"), uint8(7), uint8(3))
	f.Add([]byte("no stamp\n \n\n"), uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, size, pattern uint8) {
		var sp Splitter
		var ended [3]bool
		ended[jobs.Stdout], ended[jobs.Stderr] = true, true
		n := int(size%32) + 1
		for i := 0; len(data) > 0; i++ {
			c := data[:min(n, len(data))]
			data = data[len(c):]
			st := jobs.Stdout
			if pattern>>(i%8)&1 == 1 {
				st = jobs.Stderr
			}
			err := sp.Split(jobs.LogChunk{Stream: st, Data: c}, func(s Segment) error {
				switch {
				case len(s.Text) == 0:
					t.Fatalf("empty segment %+v", s)
				case bytes.IndexByte(s.Text[:len(s.Text)-1], '\n') >= 0:
					t.Fatalf("segment %q holds a newline before its end", s.Text)
				case s.Start != ended[s.Stream]:
					t.Fatalf("segment %q: Start = %v after a line end = %v", s.Text, s.Start, ended[s.Stream])
				}
				ended[s.Stream] = s.EndsLine()
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}
