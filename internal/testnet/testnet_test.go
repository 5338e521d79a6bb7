package testnet

import (
	"errors"
	"net"
	"testing"
	"time"
)

func TestFreeAddrCanBeListenedOn(t *testing.T) {
	ln, err := net.Listen("tcp", FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func TestEventuallyWaitsForTheCondition(t *testing.T) {
	calls := 0
	Eventually(t, time.Second, time.Millisecond, func() error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if calls != 3 {
		t.Errorf("%d calls, want 3", calls)
	}
}
