package localnode

import (
	"errors"
	"net/netip"
	"testing"
)

func TestIPAllocatorHandsOutUniqueAddressesAndReusesFreedOnesLast(t *testing.T) {
	a, err := NewIPAllocator(netip.MustParseAddr("127.1.0.1"), netip.MustParseAddr("127.1.0.3"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]bool{}
	for i := range 3 {
		ip, err := a.Allocate("pod")
		if err != nil {
			t.Fatal(err)
		}
		if seen[ip] {
			t.Fatalf("allocation %d handed out %s twice", i, ip)
		}
		seen[ip] = true
	}
	if _, err := a.Allocate("one-too-many"); !errors.Is(err, ErrNoFreeIP) {
		t.Fatalf("full range: err = %v, want ErrNoFreeIP", err)
	}
	a.Release(netip.MustParseAddr("127.1.0.2"))
	ip, err := a.Allocate("again")
	if err != nil || ip != netip.MustParseAddr("127.1.0.2") {
		t.Fatalf("after release got %s, %v; want 127.1.0.2", ip, err)
	}
	if a.InUse() != 3 {
		t.Errorf("InUse = %d, want 3", a.InUse())
	}
}

func TestIPAllocatorDoesNotReuseAFreedAddressAtOnce(t *testing.T) {
	a, _ := NewIPAllocator(netip.MustParseAddr("127.1.0.1"), netip.MustParseAddr("127.1.0.10"))
	first, _ := a.Allocate("a")
	a.Release(first)
	next, _ := a.Allocate("b")
	if next == first {
		t.Errorf("freed %s handed out again at once", first)
	}
}

func TestIPAllocatorReserveKeepsAKnownAddress(t *testing.T) {
	a, _ := NewIPAllocator(netip.MustParseAddr("127.1.0.1"), netip.MustParseAddr("127.1.0.10"))
	ip := netip.MustParseAddr("127.1.0.5")
	if !a.Reserve(ip, "ns/a") || !a.Reserve(ip, "ns/a") {
		t.Fatal("Reserve of a free address in range failed")
	}
	if a.Reserve(ip, "ns/b") {
		t.Error("Reserve gave one address to two pods")
	}
	if a.Reserve(netip.MustParseAddr("127.9.0.1"), "ns/c") {
		t.Error("Reserve took an address outside the range")
	}
}

func TestIPRangesMustBeLoopbackOutsideTheGatewayBlock(t *testing.T) {
	for _, r := range []string{"127.0.0.5-127.0.0.9", "10.0.0.1-10.0.0.9", "127.1.0.9-127.1.0.1"} {
		first, last, err := ParseIPRange(r)
		if err == nil {
			_, err = NewIPAllocator(first, last)
		}
		if err == nil {
			t.Errorf("range %s accepted", r)
		}
	}
	first, last, err := ParseIPRange("127.2.0.0/16")
	if err != nil || first != netip.MustParseAddr("127.2.0.1") || last != netip.MustParseAddr("127.2.255.254") {
		t.Errorf("127.2.0.0/16 = %s-%s, %v", first, last, err)
	}
	if _, _, err := ParseIPRange("nonsense"); err == nil {
		t.Error("nonsense accepted")
	}
}
