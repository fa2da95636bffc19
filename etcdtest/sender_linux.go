package etcdtest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// socketOwner tells which of pids holds the client end of a TCP connection
// accepted on loopback: conn's remote address is that client's local
// address. Loopback connections all come from 127.0.0.1, so the address alone
// cannot say which member dialled; the kernel's socket table and each
// process's descriptor table can. It returns -1 when no pid holds it.
func socketOwner(conn net.Conn, pids []int) int {
	remote, ok1 := conn.RemoteAddr().(*net.TCPAddr)
	local, ok2 := conn.LocalAddr().(*net.TCPAddr)
	if !ok1 || !ok2 || remote.IP.To4() == nil {
		return -1
	}
	inode := socketInode(procAddr(remote), procAddr(local))
	if inode == "" {
		return -1
	}
	want := "socket:[" + inode + "]"
	for i, pid := range pids {
		if pid <= 0 {
			continue
		}
		dir := "/proc/" + strconv.Itoa(pid) + "/fd"
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if target, err := os.Readlink(dir + "/" + e.Name()); err == nil && target == want {
				return i
			}
		}
	}
	return -1
}

// procAddr formats an IPv4 address as /proc/net/tcp shows it: the address
// word in the host's byte order, then the port, both in hex.
func procAddr(a *net.TCPAddr) string {
	return fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(a.IP.To4()), a.Port)
}

// socketInode returns the inode of the socket whose local and remote
// addresses are the given ones, or "".
func socketInode(local, remote string) string {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) > 9 && fields[1] == local && fields[2] == remote {
			return fields[9]
		}
	}
	return ""
}
