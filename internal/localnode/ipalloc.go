package localnode

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// DefaultFirstIP is where pod IPs start. 127.0.0.0/16 is left to the gateway and to tests,
// which bind fixed addresses there.
var DefaultFirstIP = netip.MustParseAddr("127.1.0.1")

// DefaultLastIP is the last pod IP: the rest of 127.0.0.0/8 above DefaultFirstIP.
var DefaultLastIP = netip.MustParseAddr("127.255.255.254")

// reservedLoopback is never handed out, whatever range the user asks for.
var reservedLoopback = netip.MustParsePrefix("127.0.0.0/16")

// IPAllocator hands out unique loopback addresses for pods from an inclusive range. The range
// can be large (the default holds 16 million addresses): only addresses in use are stored.
type IPAllocator struct {
	first, last netip.Addr

	mu    sync.Mutex
	next  netip.Addr
	inUse map[netip.Addr]string
}

// NewIPAllocator returns an allocator for first..last, both IPv4 loopback, outside
// 127.0.0.0/16.
func NewIPAllocator(first, last netip.Addr) (*IPAllocator, error) {
	for _, ip := range []netip.Addr{first, last} {
		if !ip.Is4() || !ip.IsLoopback() {
			return nil, fmt.Errorf("pod IP %s: pod IPs must be IPv4 loopback addresses (127.x.y.z): Linux routes all of 127.0.0.0/8 to lo", ip)
		}
		if reservedLoopback.Contains(ip) {
			return nil, fmt.Errorf("pod IP %s: 127.0.0.0/16 is kept for the gateway and tests; start pod IPs at 127.1.0.1 or above", ip)
		}
	}
	if last.Less(first) {
		return nil, fmt.Errorf("pod IP range %s-%s is empty: the first address must not be above the last", first, last)
	}
	return &IPAllocator{first: first, last: last, next: first, inUse: map[netip.Addr]string{}}, nil
}

// ParseIPRange reads "first-last" ("127.1.0.1-127.1.255.254") or a CIDR ("127.2.0.0/16", whose
// network and broadcast addresses are skipped).
func ParseIPRange(s string) (first, last netip.Addr, err error) {
	if prefix, perr := netip.ParsePrefix(s); perr == nil {
		prefix = prefix.Masked()
		if !prefix.Addr().Is4() || prefix.Bits() > 30 {
			return first, last, fmt.Errorf("pod IP range %q: want an IPv4 CIDR of /30 or larger", s)
		}
		first = prefix.Addr().Next()
		last = lastInPrefix(prefix).Prev()
		return first, last, nil
	}
	a, b, ok := cutDash(s)
	if !ok {
		return first, last, fmt.Errorf("pod IP range %q: want first-last (127.1.0.1-127.1.255.254) or a CIDR (127.2.0.0/16)", s)
	}
	if first, err = netip.ParseAddr(a); err != nil {
		return first, last, fmt.Errorf("pod IP range %q: %w", s, err)
	}
	if last, err = netip.ParseAddr(b); err != nil {
		return first, last, fmt.Errorf("pod IP range %q: %w", s, err)
	}
	return first, last, nil
}

func cutDash(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '-' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

func lastInPrefix(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// ErrNoFreeIP means every address of the range is in use.
var ErrNoFreeIP = errors.New("no free pod IP left in the range: delete pods or widen --pod-ip-range")

// Allocate returns a free address for owner, searching from just after the last one handed out
// so that a freed address is not reused at once (a client may still hold a connection to it).
func (a *IPAllocator) Allocate(owner string) (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ip := a.next
	for {
		if _, taken := a.inUse[ip]; !taken {
			a.inUse[ip] = owner
			a.next = a.after(ip)
			return ip, nil
		}
		ip = a.after(ip)
		if ip == a.next {
			return netip.Addr{}, ErrNoFreeIP
		}
	}
}

// Reserve takes ip for owner if it is in the range and free (a restarted node keeps the IPs
// its pods already report). It returns whether it did.
func (a *IPAllocator) Reserve(ip netip.Addr, owner string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !ip.IsValid() || ip.Less(a.first) || a.last.Less(ip) {
		return false
	}
	if holder, taken := a.inUse[ip]; taken {
		return holder == owner
	}
	a.inUse[ip] = owner
	return true
}

// Release frees ip. Releasing a free address does nothing.
func (a *IPAllocator) Release(ip netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.inUse, ip)
}

// InUse is the number of addresses handed out.
func (a *IPAllocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.inUse)
}

func (a *IPAllocator) after(ip netip.Addr) netip.Addr {
	if ip == a.last {
		return a.first
	}
	return ip.Next()
}
