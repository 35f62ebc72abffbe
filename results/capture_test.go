package results

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/swarmjob/swarmjob/jobs"
)

type frame struct {
	stream jobs.Stream
	text   string
}

// multiplex builds an Engine log stream from frames.
func multiplex(t *testing.T, frames ...frame) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	for _, f := range frames {
		writeFrame(&buf, stdcopy.StdType(f.stream), f.text)
	}
	return &buf
}

// writeFrame writes one frame of the Engine's multiplexed stream format:
// stream byte, three zero bytes, big-endian length, payload.
func writeFrame(buf *bytes.Buffer, st stdcopy.StdType, payload string) {
	var hdr [8]byte
	hdr[0] = byte(st)
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	buf.Write(hdr[:])
	buf.WriteString(payload)
}

type stored struct {
	chunks []jobs.LogChunk
}

func (s *stored) append(seq int, st jobs.Stream, data []byte) error {
	if seq != len(s.chunks) {
		return errors.New("sequence gap")
	}
	s.chunks = append(s.chunks, jobs.LogChunk{Stream: st, Data: bytes.Clone(data)})
	return nil
}

func (s *stored) render(timestamps bool, keep func(jobs.Stream) bool) string {
	var b strings.Builder
	r := NewRenderer(&b, timestamps)
	for _, c := range s.chunks {
		if keep(c.Stream) {
			if err := r.Write(c); err != nil {
				panic(err)
			}
		}
	}
	return b.String()
}

const ts = "2026-11-26T08:00:00.123456789Z "

func all(jobs.Stream) bool { return true }

func TestCapture(t *testing.T) {
	tests := []struct {
		name        string
		frames      []frame
		max         int64
		wantAll     string
		wantStdout  string
		wantStderr  string
		wantBytes   int64
		wantTrunc   bool
		wantChunks  int
		wantStamped string
	}{
		{
			name:       "stdout and stderr kept apart and in order",
			frames:     []frame{{jobs.Stdout, ts + "out1\n"}, {jobs.Stderr, ts + "err1\n"}, {jobs.Stdout, ts + "out2\n"}},
			max:        1 << 20,
			wantAll:    "out1\nerr1\nout2\n",
			wantStdout: "out1\nout2\n",
			wantStderr: "err1\n",
			wantBytes:  15,
			wantChunks: 3,
		},
		{
			name:        "timestamps kept",
			frames:      []frame{{jobs.Stdout, ts + "a\n"}},
			max:         100,
			wantAll:     "a\n",
			wantStdout:  "a\n",
			wantBytes:   2,
			wantChunks:  1,
			wantStamped: ts + "a\n",
		},
		{
			name:       "cap cuts output and marks truncation",
			frames:     []frame{{jobs.Stdout, ts + "12345\n"}, {jobs.Stdout, ts + "67890\n"}},
			max:        8,
			wantAll:    "12345\n67",
			wantStdout: "12345\n67",
			wantBytes:  8,
			wantTrunc:  true,
			wantChunks: 1,
		},
		{
			name:       "exactly at cap is not truncated",
			frames:     []frame{{jobs.Stdout, ts + "1234\n"}},
			max:        5,
			wantAll:    "1234\n",
			wantStdout: "1234\n",
			wantBytes:  5,
			wantChunks: 1,
		},
		{
			name:       "empty stream",
			max:        10,
			wantChunks: 0,
		},
		{
			name:       "line without trailing newline",
			frames:     []frame{{jobs.Stderr, ts + "no newline"}},
			max:        100,
			wantAll:    "no newline",
			wantStderr: "no newline",
			wantBytes:  10,
			wantChunks: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s stored
			sum, err := Capture(multiplex(t, tt.frames...), tt.max, s.append)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Summary{Bytes: tt.wantBytes, Truncated: tt.wantTrunc}, sum); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
			if got := len(s.chunks); got != tt.wantChunks {
				t.Errorf("chunks = %d, want %d", got, tt.wantChunks)
			}
			if got := s.render(false, all); got != tt.wantAll {
				t.Errorf("all = %q, want %q", got, tt.wantAll)
			}
			if got := s.render(false, func(s jobs.Stream) bool { return s == jobs.Stdout }); got != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", got, tt.wantStdout)
			}
			if got := s.render(false, func(s jobs.Stream) bool { return s == jobs.Stderr }); got != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", got, tt.wantStderr)
			}
			if tt.wantStamped != "" {
				if got := s.render(true, all); got != tt.wantStamped {
					t.Errorf("with timestamps = %q, want %q", got, tt.wantStamped)
				}
			}
		})
	}
}

// TestCaptureLargeOutputIsChunked checks that output is stored in bounded
// chunks as it is read, and survives chunk boundaries in mid-line.
func TestCaptureLargeOutputIsChunked(t *testing.T) {
	var frames []frame
	var want strings.Builder
	line := strings.Repeat("x", 999) + "\n"
	for range 300 {
		frames = append(frames, frame{jobs.Stdout, ts + line})
		want.WriteString(line)
	}
	var s stored
	sum, err := Capture(multiplex(t, frames...), 1<<20, s.append)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Bytes != 300_000 || sum.Truncated {
		t.Fatalf("summary = %+v", sum)
	}
	for i, c := range s.chunks {
		if len(c.Data) > chunkSize {
			t.Errorf("chunk %d has %d bytes, over %d", i, len(c.Data), chunkSize)
		}
	}
	if len(s.chunks) < 5 {
		t.Errorf("got %d chunks, want output split into several", len(s.chunks))
	}
	if got := s.render(false, all); got != want.String() {
		t.Errorf("rendered output differs from input (len %d vs %d)", len(got), want.Len())
	}
}

func TestCaptureJoinsSplitLinesAndStampsEachLine(t *testing.T) {
	const ts2 = "2026-11-26T08:00:01.000000000Z "
	var s stored
	_, err := Capture(multiplex(t,
		frame{jobs.Stdout, ts + "first half "},
		frame{jobs.Stderr, ts + "err\n"},
		frame{jobs.Stdout, ts2 + "second half\n"},
		frame{jobs.Stdout, ts2 + "two\nlines\n"},
	), 1<<20, s.append)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.render(true, func(st jobs.Stream) bool { return st == jobs.Stdout }),
		ts+"first half second half\n"+ts2+"two\n"+ts2+"lines\n"; got != want {
		t.Errorf("stored stdout = %q, want %q", got, want)
	}
	if got := s.render(false, all); got != "first half errsecond half\ntwo\nlines\n" && got != "first half err\nsecond half\ntwo\nlines\n" {
		t.Errorf("rendered = %q", got)
	}
}

func TestCaptureBoundsStorageOfShortLines(t *testing.T) {
	var frames []frame
	for range 10000 {
		frames = append(frames, frame{jobs.Stdout, ts + "x\n"})
	}
	var s stored
	sum, err := Capture(multiplex(t, frames...), 1000, s.append)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range s.chunks {
		total += len(c.Data)
	}
	if !sum.Truncated || total > 4*1000+chunkSize {
		t.Errorf("stored %d bytes (summary %+v), want at most %d and truncated", total, sum, 4*1000+chunkSize)
	}
}

func TestCaptureRefusesHugeFrames(t *testing.T) {
	var buf bytes.Buffer
	var hdr [8]byte
	hdr[0] = 1
	binary.BigEndian.PutUint32(hdr[4:], 1<<31)
	buf.Write(hdr[:])
	var s stored
	if _, err := Capture(&buf, 100, s.append); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("err = %v, want the frame size refused", err)
	}
}

func TestCaptureReportsEngineStreamError(t *testing.T) {
	var buf bytes.Buffer
	writeFrame(&buf, stdcopy.Systemerr, "node is not available")
	var s stored
	_, err := Capture(&buf, 100, s.append)
	if err == nil || !strings.Contains(err.Error(), "node is not available") {
		t.Fatalf("err = %v, want the Engine's in-stream error", err)
	}
}

func TestCaptureStoreErrorStops(t *testing.T) {
	boom := errors.New("disk full")
	_, err := Capture(multiplex(t, frame{jobs.Stdout, ts + "a\n"}), 100, func(int, jobs.Stream, []byte) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}

func FuzzCapture(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 2, 'a', '\n'}, int64(10))
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 1, ' '}, int64(0))
	f.Fuzz(func(t *testing.T, data []byte, max int64) {
		if max < 0 || max > 1<<16 {
			return
		}
		var s stored
		sum, err := Capture(bytes.NewReader(data), max, s.append)
		if err != nil {
			return
		}
		if sum.Bytes > max {
			t.Fatalf("kept %d bytes over cap %d", sum.Bytes, max)
		}
		var total int
		for _, c := range s.chunks {
			total += len(c.Data)
		}
		if int64(total) < sum.Bytes {
			t.Fatalf("stored %d bytes, summary says %d", total, sum.Bytes)
		}
	})
}
