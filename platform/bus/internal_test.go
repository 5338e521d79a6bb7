package bus

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

const lfdiA = "0123456789ABCDEF0123456789ABCDEF01234567"

func TestPermissionsFor(t *testing.T) {
	for _, role := range []string{RoleMeter, RoleGateway} {
		p, ok := permissionsFor(Identity{LFDI: lfdiA, Role: role})
		if !ok || p == nil {
			t.Fatalf("%s: no permissions", role)
		}
		if got := p.Publish.Allow; len(got) != 1 || got[0] != "usapp.v1.readings."+lfdiA {
			t.Errorf("%s publish = %v", role, got)
		}
		want := []string{"usapp.v1.receipts." + lfdiA, "usapp.v1.commands." + lfdiA, "_INBOX." + lfdiA + ".>"}
		if strings.Join(p.Subscribe.Allow, " ") != strings.Join(want, " ") {
			t.Errorf("%s subscribe = %v, want %v", role, p.Subscribe.Allow, want)
		}
	}
	he, ok := permissionsFor(Identity{LFDI: lfdiA, Role: RoleHeadEnd})
	if !ok {
		t.Fatal("headend refused")
	}
	for _, s := range he.Publish.Allow {
		if strings.HasPrefix(s, "$JS.API.STREAM.DELETE") ||
			strings.HasPrefix(s, "$JS.API.STREAM.PURGE") || strings.HasPrefix(s, "$JS.API.STREAM.MSG.DELETE") ||
			strings.HasPrefix(s, ReadingsPrefix) || s == ">" || s == "$JS.API.>" {
			t.Errorf("headend may publish %q", s)
		}
	}
	if got := he.Subscribe.Allow; len(got) != 1 || got[0] != "_INBOX."+lfdiA+".>" {
		t.Errorf("headend subscribe = %v", got)
	}
	for _, role := range []string{RoleBus, RoleCA} {
		if p, ok := permissionsFor(Identity{LFDI: lfdiA, Role: role}); !ok || p != nil {
			t.Errorf("%s: want unrestricted, got %v %v", role, p, ok)
		}
	}
	for _, role := range []string{"", "Meter", "admin"} {
		if _, ok := permissionsFor(Identity{LFDI: lfdiA, Role: role}); ok {
			t.Errorf("role %q admitted", role)
		}
	}
}

func TestValidToken(t *testing.T) {
	for _, ok := range []string{lfdiA, "a", "meter-1_x", strings.Repeat("F", 64)} {
		if !ValidToken(ok) {
			t.Errorf("%q rejected", ok)
		}
	}
	for _, bad := range []string{"", "A.B", "*", ">", "A B", "A\tB", "Ä", strings.Repeat("F", 65), "A\x00"} {
		if ValidToken(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzValidToken: whatever passes ValidToken stays exactly one literal token
// of every subject it is put into.
func FuzzValidToken(f *testing.F) {
	for _, s := range []string{lfdiA, "a.b", "*", ">", "x y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if !ValidToken(id) {
			return
		}
		for _, subj := range []string{ReadingSubject(id), ReceiptSubject(id), CommandSubject(id)} {
			toks := strings.Split(subj, ".")
			if len(toks) != 4 || toks[3] != id {
				t.Fatalf("%q splits into %v", subj, toks)
			}
			if !server.IsValidLiteralSubject(subj) {
				t.Fatalf("%q is not a literal subject", subj)
			}
		}
	})
}

func TestDeniedPublishSubject(t *testing.T) {
	// The text nats.go hands the error handler for a server -ERR.
	msg := `nats: permissions violation: Permissions Violation for Publish to "usapp.v1.readings.` + lfdiA + `"`
	if s, ok := deniedPublishSubject(msg); !ok || s != ReadingSubject(lfdiA) {
		t.Fatalf("got %q %v", s, ok)
	}
	for _, m := range []string{
		`nats: permissions violation: Permissions Violation for Subscription to "usapp.v1.receipts.X"`,
		`nats: permissions violation: Permissions Violation for Publish with Reply of "_INBOX.X"`,
		"", `Publish to ""`,
	} {
		if s, ok := deniedPublishSubject(m); ok {
			t.Errorf("%q parsed as %q", m, s)
		}
	}
}

func FuzzDeniedPublishSubject(f *testing.F) {
	f.Add(`Permissions Violation for Publish to "a.b"`)
	f.Add(`permissions violation for publish to "x" and "y"`)
	f.Add(`Permissions Violation for Subscription to "a"`)
	f.Fuzz(func(t *testing.T, msg string) {
		s, ok := deniedPublishSubject(msg)
		if !ok {
			return
		}
		if s == "" || strings.ContainsAny(s, "\" \t\r\n") || !strings.Contains(msg, `"`+s+`"`) {
			t.Fatalf("%q parsed as %q", msg, s)
		}
	})
}

func TestStreamMsgID(t *testing.T) {
	a := streamMsgID(lfdiA, "42", []byte("sealed"))
	if a != streamMsgID(lfdiA, "42", []byte("sealed")) {
		t.Fatal("retry of the same reading gets a different ID")
	}
	for _, other := range []string{
		streamMsgID("B"+lfdiA[1:], "42", []byte("sealed")),
		streamMsgID(lfdiA, "43", []byte("sealed")),
		streamMsgID(lfdiA, "42", []byte("sealed2")),
	} {
		if other == a {
			t.Fatalf("IDs collide: %s", a)
		}
	}
}

func TestReconnectDelay(t *testing.T) {
	prev := time.Duration(0)
	for i := range 40 {
		d := reconnectDelay(i)
		base := min(250*time.Millisecond<<min(i, 8), 30*time.Second)
		if d < base || d > base+base/4 {
			t.Fatalf("attempt %d: %s outside [%s, %s]", i, d, base, base+base/4)
		}
		if d < prev/2 {
			t.Fatalf("attempt %d: delay fell from %s to %s", i, prev, d)
		}
		prev = d
	}
}

func TestRefusalsSnapshotIsACopy(t *testing.T) {
	var r refusals
	r.add(RefusedVerify)
	snap := r.snapshot()
	snap[RefusedVerify] = 99
	if got := r.snapshot()[RefusedVerify]; got != 1 {
		t.Fatalf("snapshot aliased the counters: %d", got)
	}
}

// The certificates kept for reverify are those of connections still listed,
// and of connections admitted after the list was taken (not yet in it).
func TestPeerCertsPrune(t *testing.T) {
	var p peerCerts
	listed, gone := &x509.Certificate{Raw: []byte("listed")}, &x509.Certificate{Raw: []byte("gone")}
	p.add(listed)
	p.add(gone)
	listedAt := time.Now().Add(time.Millisecond)
	late := &x509.Certificate{Raw: []byte("admitted after the list")}
	p.certs[CertDigest(late)] = peerCert{cert: late, admittedAt: listedAt.Add(time.Second)}
	p.prune(func(key string) bool { return key == CertDigest(listed) }, listedAt)
	for c, want := range map[*x509.Certificate]bool{listed: true, gone: false, late: true} {
		if got := p.get(CertDigest(c)) != nil; got != want {
			t.Errorf("%s kept = %v, want %v", c.Raw, got, want)
		}
	}
}

func TestTooManyKeptCertificates(t *testing.T) {
	for _, c := range []struct {
		kept, open int
		want       bool
	}{
		{0, 0, false},
		{1024, 0, false}, // a small server never lists for this
		{1025, 0, true},
		{3024, 1000, false},
		{3025, 1000, true},
	} {
		if got := tooMany(c.kept, c.open, keepSlack); got != c.want {
			t.Errorf("tooMany(%d kept, %d open) = %v, want %v", c.kept, c.open, got, c.want)
		}
	}
}
