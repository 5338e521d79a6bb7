package clock

import (
	"testing"
	"time"
)

func TestSim(t *testing.T) {
	start := time.Date(2013, 6, 8, 0, 0, 0, 0, time.UTC)
	c := NewSim(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now = %v", c.Now())
	}
	if got := c.Advance(30 * time.Minute); !got.Equal(start.Add(30*time.Minute)) || !c.Now().Equal(got) {
		t.Fatalf("Advance = %v, Now = %v", got, c.Now())
	}
	var _ Clock = Real{}
	var _ Clock = c
}
