package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Role is the party a certificate speaks for. It travels in the certificate's
// single Subject OrganizationalUnit.
type Role string

// Roles known to the CA.
const (
	RoleMeter   Role = "meter"
	RoleGateway Role = "gateway"
	RoleHeadEnd Role = "headend"
	RoleCA      Role = "ca"
	RoleBus     Role = "bus"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleMeter, RoleGateway, RoleHeadEnd, RoleCA, RoleBus:
		return true
	}
	return false
}

// serves reports whether certificates of this role may act as TLS servers.
func (r Role) serves() bool {
	return r == RoleHeadEnd || r == RoleBus || r == RoleCA
}

// lfdiLen is the length of an LFDI in hexadecimal characters (160 bits).
const lfdiLen = 40

// LFDI returns the IEEE 2030.5 long-form device identifier of a DER
// certificate: the leftmost 160 bits of its SHA-256 hash, upper-case hex.
func LFDI(certDER []byte) string {
	sum := sha256.Sum256(certDER)
	return strings.ToUpper(hex.EncodeToString(sum[:lfdiLen/2]))
}

// validLFDI reports whether s is shaped like an LFDI.
func validLFDI(s string) bool {
	if len(s) != lfdiLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// gatewayURIPrefix starts the URI SAN that binds a meter to its gateway.
const gatewayURIPrefix = "urn:usapp:gateway:"

// lfdiURIPrefix marks a renewed certificate with the identity of the device's
// first certificate. The LFDI of IEEE 2030.5 is a hash of the certificate, so
// without it every renewal would give a device a new identity: a gateway
// would lose its subjects and its meters' bindings, a meter its bills.
const lfdiURIPrefix = "urn:usapp:lfdi:"

func identityURI(lfdi string) *url.URL {
	return &url.URL{Scheme: "urn", Opaque: "usapp:lfdi:" + lfdi}
}

// lfdiOf returns the device identity a certificate carries: the LFDI of the
// first certificate, named in a renewed one, or else its own LFDI.
func lfdiOf(cert *x509.Certificate) (string, error) {
	id := ""
	for _, u := range cert.URIs {
		v, ok := strings.CutPrefix(u.String(), lfdiURIPrefix)
		if !ok {
			continue
		}
		if id != "" || !validLFDI(v) {
			return "", fmt.Errorf("identity: %w", ErrMalformed)
		}
		id = v
	}
	if id == "" {
		id = LFDI(cert.Raw)
	}
	return id, nil
}

func gatewayURI(lfdi string) *url.URL {
	return &url.URL{Scheme: "urn", Opaque: "usapp:gateway:" + lfdi}
}

// maxNameLen is the X.520 upper bound of a CommonName.
const maxNameLen = 64

// checkName refuses names that are empty, overlong, not UTF-8 or hold
// control characters, so that names are safe to log and to compare.
func checkName(name string) error {
	if name == "" || len(name) > maxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("name: %w", ErrInvalid)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("name: %w", ErrInvalid)
		}
	}
	return nil
}

// checkSubject validates what the CA writes into a certificate.
func checkSubject(role Role, name, gateway string) error {
	if !role.Valid() {
		return ErrRole
	}
	if err := checkName(name); err != nil {
		return err
	}
	if gateway == "" {
		return nil
	}
	if role != RoleMeter {
		return fmt.Errorf("gateway binding on a %s: %w", role, ErrRole)
	}
	if !validLFDI(gateway) {
		return fmt.Errorf("gateway lfdi: %w", ErrInvalid)
	}
	return nil
}

// Identity is what a verified certificate says about its holder.
type Identity struct {
	LFDI     string
	Role     Role
	Name     string // Subject CommonName
	Gateway  string // LFDI of the bound gateway, or ""
	Cert     *x509.Certificate
	NotAfter time.Time
}

// IdentityOf reads role, name and gateway binding from a certificate. It does
// not check the chain, the validity period or revocation: use
// [Verifier.Verify] for that. A certificate with zero or several OUs, an
// unknown role, a CA certificate, or a malformed binding is refused with
// [ErrRole] or [ErrMalformed].
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	if cert == nil || len(cert.Raw) == 0 {
		return Identity{}, ErrMalformed
	}
	if cert.IsCA {
		return Identity{}, fmt.Errorf("ca certificate as identity: %w", ErrRole)
	}
	ou := cert.Subject.OrganizationalUnit
	if len(ou) != 1 {
		return Identity{}, fmt.Errorf("%d organizational units: %w", len(ou), ErrRole)
	}
	role := Role(ou[0])
	if !role.Valid() {
		return Identity{}, ErrRole
	}
	if checkName(cert.Subject.CommonName) != nil {
		return Identity{}, fmt.Errorf("common name: %w", ErrMalformed)
	}
	gw, err := gatewayOf(cert)
	if err != nil {
		return Identity{}, err
	}
	if gw != "" && role != RoleMeter {
		return Identity{}, fmt.Errorf("gateway binding on a %s: %w", role, ErrRole)
	}
	lfdi, err := lfdiOf(cert)
	if err != nil {
		return Identity{}, err
	}
	return Identity{
		LFDI:     lfdi,
		Role:     role,
		Name:     cert.Subject.CommonName,
		Gateway:  gw,
		Cert:     cert,
		NotAfter: cert.NotAfter,
	}, nil
}

// FiledUnder is the LFDI a certificate is filed under in a CA's records:
// the holder's identity, which renewals keep, or the certificate's own LFDI
// when it carries no identity (the root).
func FiledUnder(c *x509.Certificate) string {
	if id, err := IdentityOf(c); err == nil {
		return id.LFDI
	}
	return LFDI(c.Raw)
}

// gatewayOf returns the bound gateway LFDI; two bindings are malformed.
func gatewayOf(cert *x509.Certificate) (string, error) {
	gw := ""
	for _, u := range cert.URIs {
		s := u.String()
		if !strings.HasPrefix(s, gatewayURIPrefix) {
			continue
		}
		lfdi := strings.TrimPrefix(s, gatewayURIPrefix)
		if gw != "" || !validLFDI(lfdi) {
			return "", fmt.Errorf("gateway binding: %w", ErrMalformed)
		}
		gw = lfdi
	}
	return gw, nil
}
