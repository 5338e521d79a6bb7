package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/usapp/usapp/framework"
)

// Defaults and fixed policy.
const (
	// DefaultDeviceValidity is the lifetime of end-entity certificates.
	DefaultDeviceValidity = 365 * 24 * time.Hour
	// CRLValidity is the distance between a CRL's ThisUpdate and NextUpdate.
	CRLValidity = 24 * time.Hour
	// CRLKeepsExpired is how long a revoked certificate stays on the CRL
	// after it expires. RFC 5280 §3.3 lets an entry go once it has appeared
	// on one CRL issued after the certificate's validity period; a week
	// also covers relying parties whose clocks run days behind. Dropping
	// the entries then keeps the CRL, which relying parties fetch every
	// minute, from growing with every revocation ever made.
	CRLKeepsExpired = 7 * 24 * time.Hour
	// backdate covers clock skew between the CA and relying parties: a
	// certificate is valid from a few minutes before it was issued.
	backdate = 5 * time.Minute
	// tokenBytes is the entropy of an enrolment token.
	tokenBytes = 32
)

// CA is the USaPP certificate authority. It holds the root certificate and
// its ECDSA P-256 key, and keeps its memory in a State.
type CA struct {
	// DeviceValidity is the lifetime of the certificates the CA issues to
	// gateways and meters (DefaultDeviceValidity when zero), and
	// ServiceValidity of those of the serving roles (head-end, bus, the CA's
	// own HTTPS). Both renew while they run, in the last fifth of their life
	// (NeedsRotation). Set them before the CA is shared; certificates never
	// outlive the root.
	DeviceValidity, ServiceValidity time.Duration

	cert  *x509.Certificate
	key   *ecdsa.PrivateKey
	state State
}

// NewCA creates a self-signed root named name, valid for validity from now.
func NewCA(name string, key *ecdsa.PrivateKey, state State, now time.Time, validity time.Duration) (*CA, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("ca key must be ECDSA P-256: %w", ErrInvalid)
	}
	if state == nil || validity <= 0 {
		return nil, fmt.Errorf("ca state and validity: %w", ErrInvalid)
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	serial, err := state.NextSerial()
	if err != nil {
		return nil, fmt.Errorf("pki: ca serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, OrganizationalUnit: []string{string(RoleCA)}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // no intermediates: every leaf hangs off the root
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: create root: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse root: %w", err)
	}
	if err := state.RecordIssued(cert); err != nil {
		return nil, fmt.Errorf("pki: record root: %w", err)
	}
	return &CA{cert: cert, key: key, state: state}, nil
}

// LoadCA restores a CA from its root certificate, key and state.
func LoadCA(cert *x509.Certificate, key *ecdsa.PrivateKey, state State) (*CA, error) {
	if cert == nil || key == nil || state == nil {
		return nil, fmt.Errorf("load ca: %w", ErrInvalid)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) || !cert.IsCA {
		return nil, ErrKeyMismatch
	}
	return &CA{cert: cert, key: key, state: state}, nil
}

// Certificate returns the root certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

func (ca *CA) validity(role Role) time.Duration {
	v := ca.DeviceValidity
	if role.serves() {
		v = ca.ServiceValidity
	}
	if v > 0 {
		return v
	}
	return DefaultDeviceValidity
}

// Controls lists the controls the CA provides, for GET /controls.
func (ca *CA) Controls() []framework.Active {
	return []framework.Active{
		{ID: framework.Enrolment, Params: map[string]string{
			"token": "one-time, 256-bit, sha-256 stored", "csr": "pkcs10", "ca_key": "ecdsa-p256"}},
		{ID: framework.CertRotation, Params: map[string]string{
			"validity": ca.validity(RoleGateway).String(), "service_validity": ca.validity(RoleHeadEnd).String(),
			"rotate_after": "80%"}},
		{ID: framework.Revocation, Params: map[string]string{
			"crl_validity": CRLValidity.String(), "crl_keeps_expired": CRLKeepsExpired.String()}},
	}
}

// NewToken creates a one-time enrolment token valid for ttl that grants the
// given role, name and gateway binding. Only its SHA-256 is stored. Tokens
// for RoleCA are refused: a CA-role service certificate is issued directly.
func (ca *CA) NewToken(role Role, name, gateway string, ttl time.Duration, now time.Time) (string, error) {
	if err := checkSubject(role, name, gateway); err != nil {
		return "", err
	}
	if role == RoleCA {
		return "", fmt.Errorf("token for the ca role: %w", ErrRole)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("token ttl: %w", ErrInvalid)
	}
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("pki: token: %w", err)
	}
	rec := TokenRecord{Role: role, Name: name, Gateway: gateway, Expires: now.Add(ttl).UTC()}
	if err := ca.state.PutToken(sha256.Sum256(raw), rec); err != nil {
		return "", fmt.Errorf("pki: store token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// tokenHash maps a presented token to its stored hash; anything that is not
// a well-formed token is simply unknown.
func tokenHash(token string) ([32]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != tokenBytes {
		return [32]byte{}, ErrTokenUnknown
	}
	return sha256.Sum256(raw), nil
}

// checkCSR verifies a request's self-signature (proof of possession).
func checkCSR(csr *x509.CertificateRequest) error {
	if csr == nil || csr.PublicKey == nil {
		return ErrBadCSR
	}
	if err := csr.CheckSignature(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	return nil
}

// Enroll issues a certificate for the key in csr, once per token. Role, name
// and binding come from the token; the request's subject is ignored. A
// service (head-end, bus) enrolling with a CA it does not embed also takes
// its host names from the request: the token's holder runs the service and
// knows where it listens. A bus serves and nothing else, so its request
// must name at least one host (a certificate without would fail every
// client's TLS check); a device's requested hosts are ignored.
func (ca *CA) Enroll(token string, csr *x509.CertificateRequest, now time.Time) (*x509.Certificate, error) {
	if err := checkCSR(csr); err != nil {
		return nil, err
	}
	hosts, err := requestedHosts(csr)
	if err != nil {
		return nil, err
	}
	h, err := tokenHash(token)
	if err != nil {
		return nil, err
	}
	rec, err := ca.state.ConsumeToken(h, now)
	if err != nil {
		return nil, err
	}
	switch {
	case !rec.Role.serves():
		hosts = nil
	case rec.Role == RoleBus && len(hosts) == 0:
		return nil, fmt.Errorf("%w: a bus certificate needs host names", ErrBadCSR)
	}
	return ca.issue(rec.Role, rec.Name, rec.Gateway, "", hosts, csr.PublicKey, now)
}

// Renew rotates a certificate: current must be valid at now, unrevoked and
// issued by this CA; the new certificate keeps its role, name, binding, host
// names and identity (the LFDI of the device's first certificate, carried as
// urn:usapp:lfdi:<LFDI>), for the key in csr, the same or a new one. A
// verifier holding the old certificate learns of a new key when it next
// reads the device's certificates; until the old certificate expires both
// keys are the device's (USaPP's head-end reads the CA's directory again at
// the first message no key it holds verifies).
func (ca *CA) Renew(current *x509.Certificate, csr *x509.CertificateRequest, now time.Time) (*x509.Certificate, error) {
	if err := checkCSR(csr); err != nil {
		return nil, err
	}
	revoked, err := ca.revokedSet()
	if err != nil {
		return nil, err
	}
	id, err := verifyLeaf(ca.cert, current, now, revoked)
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, ip := range current.IPAddresses {
		hosts = append(hosts, ip.String())
	}
	hosts = append(hosts, current.DNSNames...)
	return ca.issue(id.Role, id.Name, id.Gateway, id.LFDI, hosts, csr.PublicKey, now)
}

// Issue signs pub directly, for services provisioned at bootstrap.
func (ca *CA) Issue(role Role, name, gateway string, pub crypto.PublicKey, now time.Time) (*x509.Certificate, error) {
	return ca.issue(role, name, gateway, "", nil, pub, now)
}

// IssueServer signs pub for a TLS server of a serving role (head-end, bus,
// CA) reachable under hosts (DNS names or IP addresses).
func (ca *CA) IssueServer(role Role, name string, hosts []string, pub crypto.PublicKey, now time.Time) (*x509.Certificate, error) {
	if !role.serves() {
		return nil, fmt.Errorf("server certificate for a %s: %w", role, ErrRole)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("server certificate without hosts: %w", ErrInvalid)
	}
	return ca.issue(role, name, "", "", hosts, pub, now)
}

// issue signs a certificate; identity is the device's LFDI when renewing
// (kept in the new certificate) and "" for a new device.
func (ca *CA) issue(role Role, name, gateway, identity string, hosts []string, pub crypto.PublicKey, now time.Time) (*x509.Certificate, error) {
	if err := checkSubject(role, name, gateway); err != nil {
		return nil, err
	}
	if pub == nil {
		return nil, fmt.Errorf("public key: %w", ErrInvalid)
	}
	if len(hosts) > 0 && !role.serves() {
		return nil, fmt.Errorf("host names on a %s: %w", role, ErrRole)
	}
	tmpl, err := ca.template(role, name, gateway, identity, hosts, pub, now)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse issued certificate: %w", err)
	}
	if err := ca.state.RecordIssued(cert); err != nil {
		return nil, fmt.Errorf("pki: record issued certificate: %w", err)
	}
	return cert, nil
}

func (ca *CA) template(role Role, name, gateway, identity string, hosts []string, pub crypto.PublicKey, now time.Time) (*x509.Certificate, error) {
	serial, err := ca.state.NextSerial()
	if err != nil {
		return nil, fmt.Errorf("pki: serial: %w", err)
	}
	notAfter := now.Add(ca.validity(role))
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, OrganizationalUnit: []string{string(role)}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	if _, isRSA := pub.(*rsa.PublicKey); isRSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment // RSA key transport in TLS 1.2
	}
	if role.serves() {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if gateway != "" {
		tmpl.URIs = append(tmpl.URIs, gatewayURI(gateway))
	}
	if identity != "" {
		tmpl.URIs = append(tmpl.URIs, identityURI(identity))
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return tmpl, nil
}

// Revoke revokes the certificate with the given serial as of now.
func (ca *CA) Revoke(serial *big.Int, now time.Time) error {
	return ca.state.Revoke(serial, now)
}

// CRL returns the DER revocation list of the revoked certificates that
// expired less than CRLKeepsExpired ago or not at all, signed by the root,
// valid from now to now+CRLValidity. Its CRL number is now in Unix
// nanoseconds, so that relying parties can refuse an older list.
func (ca *CA) CRL(now time.Time) ([]byte, error) {
	entries, err := ca.state.Revoked(now.Add(-CRLKeepsExpired))
	if err != nil {
		return nil, fmt.Errorf("pki: list revocations: %w", err)
	}
	tmpl := &x509.RevocationList{
		RevokedCertificateEntries: entries,
		Number:                    big.NewInt(now.UnixNano()),
		ThisUpdate:                now,
		NextUpdate:                now.Add(CRLValidity),
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.cert, ca.key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign crl: %w", err)
	}
	return der, nil
}

func (ca *CA) revokedSet() (map[string]bool, error) {
	entries, err := ca.state.Revoked(time.Time{})
	if err != nil {
		return nil, fmt.Errorf("pki: list revocations: %w", err)
	}
	set := make(map[string]bool, len(entries))
	for _, e := range entries {
		set[serialKey(e.SerialNumber)] = true
	}
	return set, nil
}

func serialKey(n *big.Int) string { return n.Text(16) }

// NeedsRotation reports whether cert is in the last 20% of its validity
// (or past it) at now, the point where its holder should call Renew.
func NeedsRotation(cert *x509.Certificate, now time.Time) bool {
	life := cert.NotAfter.Sub(cert.NotBefore)
	return !now.Before(cert.NotAfter.Add(-life / 5))
}

// Authenticate checks that cert is a current certificate of this CA — chain,
// validity window and revocation, read from the CA's own state so there is
// no CRL lag — and returns its identity. Services of the CA (EST extensions)
// use it to authorise a device presenting its certificate.
func (ca *CA) Authenticate(cert *x509.Certificate, now time.Time) (Identity, error) {
	revoked, err := ca.revokedSet()
	if err != nil {
		return Identity{}, err
	}
	return verifyLeaf(ca.cert, cert, now, revoked)
}
