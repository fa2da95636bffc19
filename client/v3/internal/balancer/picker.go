package balancer

import (
	"sync/atomic"
	"time"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/base"
	"google.golang.org/grpc/resolver"
)

// Name is the gRPC load-balancing policy name of the picker; a client
// selects it through its default service config.
const Name = "etcdkit_health_round_robin"

func init() {
	balancer.Register(base.NewBalancerBuilder(Name, pickerBuilder{}, base.Config{}))
}

// ServiceConfig is the default service config that selects the picker.
const ServiceConfig = `{"loadBalancingConfig":[{"` + Name + `":{}}]}`

type healthKey struct{}

// withHealth attaches h to a so the picker finds the client's Health.
func withHealth(a resolver.Address, h *Health) resolver.Address {
	a.BalancerAttributes = a.BalancerAttributes.WithValue(healthKey{}, h)
	return a
}

type pickerBuilder struct{}

func (pickerBuilder) Build(info base.PickerBuildInfo) balancer.Picker {
	if len(info.ReadySCs) == 0 {
		return base.NewErrPicker(balancer.ErrNoSubConnAvailable)
	}
	p := &picker{}
	for sc, sci := range info.ReadySCs {
		h, _ := sci.Address.BalancerAttributes.Value(healthKey{}).(*Health)
		if h == nil {
			h = NewHealth()
		}
		if p.h == nil {
			p.h = h
		}
		st := h.state(sci.Address.Addr)
		p.scs = append(p.scs, sc)
		p.states = append(p.states, st)
	}
	p.h.setReady(append([]*endpointState(nil), p.states...))
	return p
}

// picker spreads calls round-robin over its READY SubConns, skipping
// endpoints its Health says to avoid unless all are avoided.
type picker struct {
	h      *Health
	scs    []balancer.SubConn
	states []*endpointState
	next   atomic.Uint32
}

func (p *picker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	att := AttemptFrom(info.Ctx)
	opts := pickOptsFrom(info.Ctx)
	if att != nil && opts.avoid == "" {
		if p := att.avoid.Load(); p != nil {
			opts.avoid = *p
		}
	}
	now := time.Now().UnixNano()
	chosen := -1
	if opts.pin != "" {
		for i, st := range p.states {
			if st.addr == opts.pin {
				chosen = i
				break
			}
		}
		if chosen < 0 {
			// Not ready yet: gRPC waits for the next picker.
			return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
		}
	} else if att != nil && att.toLeader.Load() && p.h != nil {
		chosen = p.leaderIndex(now)
	}
	if chosen < 0 {
		n := len(p.scs)
		start := int(p.next.Add(1) % uint32(n))
		for i := range n {
			j := (start + i) % n
			if !p.states[j].avoided(now) && p.states[j].addr != opts.avoid {
				chosen = j
				break
			}
		}
		if chosen < 0 {
			chosen = start
		}
	}
	st := p.states[chosen]
	if att != nil {
		att.recordPick(&st.addr)
	}
	if opts.probe {
		// The prober records its own verdict; a probe is no use of the
		// client.
		return balancer.PickResult{SubConn: p.scs[chosen]}, nil
	}
	h := p.h
	h.probes.Begin()
	stream := att != nil && att.stream.Load()
	return balancer.PickResult{
		SubConn: p.scs[chosen],
		Done: func(di balancer.DoneInfo) {
			h.probes.End()
			h.observe(st, di.Err, time.Duration(time.Now().UnixNano()-now), stream)
			if att != nil {
				att.recordDone(di.BytesSent)
			}
		},
	}, nil
}

// leaderIndex returns the index of the leader's endpoint if it is READY
// and not avoided, else -1.
func (p *picker) leaderIndex(now int64) int {
	id := p.h.leaderID()
	if id == 0 {
		return -1
	}
	for i, st := range p.states {
		if st.member.Load() == id && !st.avoided(now) {
			return i
		}
	}
	return -1
}
