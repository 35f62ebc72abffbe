package jobs

import (
	"strings"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 10 * time.Second, Multiplier: 2}
	tests := []struct {
		failed int
		want   time.Duration
	}{{0, 0}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {500, 10 * time.Second}}
	for _, tt := range tests {
		if got := b.Delay(tt.failed, 42); got != tt.want {
			t.Errorf("Delay(%d) = %v, want %v", tt.failed, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	valid := func() Spec { s := Spec{Image: "busybox"}; s.Defaults(); return s }
	tests := []struct {
		name    string
		jobName string
		labels  map[string]string
		mod     func(*Spec)
		wantErr string // substring naming the field; "" for valid
	}{
		{name: "minimal valid"},
		{name: "missing image", mod: func(s *Spec) { s.Image = "" }, wantErr: "image: is required"},
		{name: "image with space", mod: func(s *Spec) { s.Image = "a b" }, wantErr: "image:"},
		{name: "bad name", jobName: "-x", wantErr: "name:"},
		{name: "bad label key", labels: map[string]string{"a=b": "c"}, wantErr: "labels: key"},
		{name: "label value with newline", labels: map[string]string{"a": "b\nc"}, wantErr: "labels[a]"},
		{name: "bad env name", mod: func(s *Spec) { s.Env = map[string]string{"1X": "y"} }, wantErr: "env: name"},
		{name: "reserved env", mod: func(s *Spec) { s.Env = map[string]string{"SWARMJOB_INDEX": "9"} }, wantErr: "reserved"},
		{name: "NUL in args", mod: func(s *Spec) { s.Args = []string{"a\x00"} }, wantErr: "args[0]"},
		{name: "relative workingDir", mod: func(s *Spec) { s.WorkingDir = "tmp" }, wantErr: "workingDir"},
		{name: "negative backoffLimit", mod: func(s *Spec) { s.BackoffLimit = -1 }, wantErr: "backoffLimit"},
		{name: "max below initial", mod: func(s *Spec) { s.Backoff.Max = time.Millisecond }, wantErr: "backoff.maxMs"},
		{name: "negative deadline", mod: func(s *Spec) { s.ActiveDeadlineSeconds = -5 }, wantErr: "activeDeadlineSeconds"},
		{name: "negative cpus", mod: func(s *Spec) { s.Resources.Limits.CPUs = -1 }, wantErr: "resources.limits.cpus"},
		{name: "tiny memory", mod: func(s *Spec) { s.Resources.Limits.MemoryBytes = 1 }, wantErr: "resources.limits.memoryBytes"},
		{name: "reservation over limit", mod: func(s *Spec) { s.Resources.Limits.CPUs, s.Resources.Reservations.CPUs = 1, 2 }, wantErr: "resources.reservations.cpus"},
		{name: "bad constraint", mod: func(s *Spec) { s.Placement.Constraints = []string{"node.role"} }, wantErr: "placement.constraints[0]"},
		{name: "empty network", mod: func(s *Spec) { s.Networks = []string{""} }, wantErr: "networks[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid()
			if tt.mod != nil {
				tt.mod(&s)
			}
			err := Validate(tt.jobName, tt.labels, s)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("no error, want one naming %q", tt.wantErr)
			case tt.wantErr != "":
				if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want EINVALID naming %q", err, tt.wantErr)
				}
			}
		})
	}
}

func TestHubWakesWaiters(t *testing.T) {
	var h Hub
	a, b := h.Changed("x"), h.Changed("x")
	other := h.Changed("y")
	h.Notify("x")
	for _, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		default:
			t.Fatal("waiter not woken")
		}
	}
	select {
	case <-other:
		t.Fatal("unrelated waiter woken")
	default:
	}
	select {
	case <-h.Changed("x"):
		t.Fatal("a new subscription must wait for the next Notify")
	default:
	}
}
