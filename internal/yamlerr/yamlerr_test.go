package yamlerr

import (
	"errors"
	"testing"
)

var errBad = errors.New("bad")

func TestJoin(t *testing.T) {
	if Join(nil) != nil {
		t.Fatal("no problems must be nil")
	}
	one := &Error{File: "m.yaml", Line: 3, Path: "flows[0].to", Msg: "no such component", Err: errBad}
	if got := Join([]*Error{one}); got != one || got.Error() != "m.yaml:3: flows[0].to: no such component" {
		t.Fatalf("one problem: %v", got)
	}
	two := Join([]*Error{one, {File: "m.yaml", Msg: "unreadable"}})
	var l *Errors
	if !errors.As(two, &l) || len(*l) != 2 || !errors.Is(two, errBad) {
		t.Fatalf("two problems: %v", two)
	}
	if two.Error() != "m.yaml:3: flows[0].to: no such component\nm.yaml: unreadable" {
		t.Fatalf("text %q", two.Error())
	}
}
