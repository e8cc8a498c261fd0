// stanconf prints, as JSON, the options nats-streaming-server v0.25.6 runs with for a command
// line such as `-sc stan.conf`: it calls the server's own ConfigureOptions (what the server's
// main does before it starts), so the server's parser reads the file, not one of ours.
//
//	stanconf -sc stan.conf            -> {"streaming": {...}, "nats": {...}}
//
// "streaming" is the server's Options as encoded by encoding/json (store type and directory,
// FileStoreOpts, store limits with per-channel limits, FT group, NATS server URL ...). "nats" holds
// the embedded NATS server's listen, monitoring and cluster settings, several of which the NATS
// Options type keeps out of JSON. A file the server would refuse exits 1 with its message.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	stand "github.com/nats-io/nats-streaming-server/server"
)

type clusterView struct {
	Host           string   `json:"host"`
	Port           int      `json:"port"`
	Advertise      string   `json:"advertise"`
	ConnectRetries int      `json:"connect_retries"`
	Routes         []string `json:"routes"`
}

type natsView struct {
	Host     string      `json:"host"`
	Port     int         `json:"port"`
	HTTPHost string      `json:"http_host"`
	HTTPPort int         `json:"http_port"`
	Cluster  clusterView `json:"cluster"`
}

func main() {
	fs := flag.NewFlagSet("nats-streaming-server", flag.ContinueOnError)
	noop := func() {}
	sopts, nopts, err := stand.ConfigureOptions(fs, os.Args[1:], noop, noop, noop)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	routes := []string{}
	for _, u := range nopts.Routes {
		routes = append(routes, u.String())
	}
	out := map[string]interface{}{
		"streaming": sopts,
		"nats": natsView{
			Host: nopts.Host, Port: nopts.Port, HTTPHost: nopts.HTTPHost, HTTPPort: nopts.HTTPPort,
			Cluster: clusterView{
				Host: nopts.Cluster.Host, Port: nopts.Cluster.Port, Advertise: nopts.Cluster.Advertise,
				ConnectRetries: nopts.Cluster.ConnectRetries, Routes: routes,
			},
		},
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
