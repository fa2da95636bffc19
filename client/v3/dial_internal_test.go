package clientv3

import (
	"testing"
	"time"
)

func TestKeepAliveParamsAreTheCallersWhenATimeIsGiven(t *testing.T) {
	for _, c := range []struct {
		name          string
		time, timeout time.Duration
		wantTime      time.Duration
		wantTimeout   time.Duration // 0: gRPC's own, 20 s
		wantOn        bool
	}{
		{"time and timeout given", 30 * time.Second, 5 * time.Second, 30 * time.Second, 5 * time.Second, true},
		{"time given, timeout zero: gRPC's, as the official client", 30 * time.Second, 0, 30 * time.Second, 0, true},
		{"neither: ours", 0, 0, defaultPingTime, defaultPingTimeout, true},
		{"no time, a timeout", 0, 7 * time.Second, defaultPingTime, 7 * time.Second, true},
		{"negative time: off", -1, 0, 0, 0, false},
	} {
		kp, on := keepAliveParams(&Config{DialKeepAliveTime: c.time, DialKeepAliveTimeout: c.timeout})
		if on != c.wantOn || kp.Time != c.wantTime || kp.Timeout != c.wantTimeout {
			t.Errorf("%s: got %v/%v (on %v), want %v/%v (on %v)", c.name, kp.Time, kp.Timeout, on, c.wantTime, c.wantTimeout, c.wantOn)
		}
	}
}
