package main

import (
	"testing"
	"time"
)

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "512", want: 512},
		{in: "512b", want: 512},
		{in: "4k", want: 4 << 10},
		{in: "4KB", want: 4 << 10},
		{in: "4KiB", want: 4 << 10},
		{in: "64m", want: 64 << 20},
		{in: "64M", want: 64 << 20},
		{in: "64mb", want: 64 << 20},
		{in: "64MiB", want: 64 << 20},
		{in: "64 m", want: 64 << 20},
		{in: "1g", want: 1 << 30},
		{in: "1.5g", want: 3 << 29},
		{in: "0.3k", want: 307}, // a fraction of a byte is dropped
		{in: "2t", want: 2 << 40},
		{in: " 8m ", want: 8 << 20},
		{in: "8388607t", want: 8388607 << 40},
		{in: "8388608t", wantErr: `invalid size "8388608t": too large`},
		{in: "99999999999999999999", wantErr: `invalid size "99999999999999999999": too large`},
		{in: "", wantErr: `invalid size "": want a number with an optional unit, such as 64m or 1.5g`},
		{in: "m", wantErr: `invalid size "m": want a number with an optional unit, such as 64m or 1.5g`},
		{in: "-1m", wantErr: `invalid size "-1m": want a number with an optional unit, such as 64m or 1.5g`},
		{in: ".5m", wantErr: `invalid size ".5m": want a number with an optional unit, such as 64m or 1.5g`},
		{in: "5.m", wantErr: `invalid size "5.m": want a number with an optional unit, such as 64m or 1.5g`},
		{in: "1.2.3m", wantErr: `invalid size "1.2.3m": want a number with an optional unit, such as 64m or 1.5g`},
		{in: "1e3", wantErr: `invalid size "1e3": unknown unit "e3" (use b, k, m, g or t)`},
		{in: "12x", wantErr: `invalid size "12x": unknown unit "x" (use b, k, m, g or t)`},
		{in: "1p", wantErr: `invalid size "1p": unknown unit "p" (use b, k, m, g or t)`},
		{in: "1ib", wantErr: `invalid size "1ib": unknown unit "ib"`},
		{in: "1bb", wantErr: `invalid size "1bb": unknown unit "bb" (use b, k, m, g or t)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseBytes(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("parseBytes(%q) = %d, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseBytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{59 * time.Second, "59s"},
		{time.Minute, "1m"},
		{59*time.Minute + 59*time.Second, "59m"},
		{time.Hour, "1h"},
		{47 * time.Hour, "47h"},
		{48 * time.Hour, "2d"},
		{400 * 24 * time.Hour, "400d"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := age(tt.d); got != tt.want {
				t.Errorf("age(%s) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}
