import type { PortRange } from './schema.js';

export type { PortRange };

export interface TlsServerSettings {
  force: boolean;
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
}

export interface ServerConfig {
  bindAddr: string;
  bindPort: number;
  /** where tcp proxy listeners bind; empty = bindAddr */
  proxyBindAddr: string;
  auth: { method: string; token: string; additionalScopes: string[] };
  transport: {
    tcpMux: boolean;
    tcpMuxKeepaliveInterval: number;
    tcpKeepalive: number;
    maxPoolCount: number;
    /** seconds; <= 0 disables; -1 = frp default (off with tcpMux, 90 s without) */
    heartbeatTimeout: number;
    tls: TlsServerSettings;
  };
  maxPortsPerClient: number;
  userConnTimeout: number;
  allowPorts: PortRange[];
  detailedErrorsToClient: boolean;
  log: { to: string; level: string; maxDays: number };
}

export interface ProxyConfig {
  name: string;
  type: string;
  enabled: boolean;
  localIP: string;
  localPort: number;
  remotePort: number;
  transport: { useEncryption: boolean; useCompression: boolean };
}

export interface ClientConfig {
  serverAddr: string;
  serverPort: number;
  user: string;
  clientID: string;
  auth: { method: string; token: string; additionalScopes: string[] };
  loginFailExit: boolean;
  start: string[];
  transport: {
    protocol: string;
    dialServerTimeout: number;
    dialServerKeepalive: number;
    connectServerLocalIP: string;
    poolCount: number;
    tcpMux: boolean;
    tcpMuxKeepaliveInterval: number;
    heartbeatInterval: number;
    heartbeatTimeout: number;
    tls: {
      enable: boolean;
      disableCustomTLSFirstByte: boolean;
      serverName: string;
      certFile: string;
      keyFile: string;
      trustedCaFile: string;
    };
  };
  log: { to: string; level: string; maxDays: number };
  proxies: ProxyConfig[];
}
