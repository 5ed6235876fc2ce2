import { BURROW_LOGIN_FIELDS, BURROW_PROXY_ACCESS_FIELDS, type BurrowLogin, type BurrowProxyAccess, type BurrowServerInfo } from './burrow-features.js';

export type { BurrowServerInfo } from './burrow-features.js';

/**
 * The v1 control messages, with the exact JSON key names of the reference,
 * plus one key of burrow's own, `burrow_features` (see burrow-features.ts).
 * Every field is optional on the wire (the reference drops empty values)
 * except the nested structs it always writes (`client_spec`, `detect_behavior`);
 * decoders never require them.
 *
 * `MESSAGE_SCHEMA` below is the single source of truth for key order and
 * field types; the codec reads it for both encoding and validation.
 */

export interface ClientSpec {
  type?: string;
  always_auth_pass?: boolean;
}

export interface Login extends BurrowLogin {
  version?: string;
  hostname?: string;
  os?: string;
  arch?: string;
  user?: string;
  privilege_key?: string;
  timestamp?: number;
  run_id?: string;
  client_id?: string;
  metas?: Record<string, string>;
  client_spec?: ClientSpec;
  pool_count?: number;
}

export interface LoginResp {
  version?: string;
  run_id?: string;
  error?: string;
  /** burrow's extension, sent only to a client that named burrow_features; stock frpc ignores it, stock frps never sends it */
  burrow_server?: BurrowServerInfo;
}

export interface NewProxy extends BurrowProxyAccess {
  proxy_name?: string;
  proxy_type?: string;
  use_encryption?: boolean;
  use_compression?: boolean;
  bandwidth_limit?: string;
  bandwidth_limit_mode?: string;
  group?: string;
  group_key?: string;
  metas?: Record<string, string>;
  annotations?: Record<string, string>;
  remote_port?: number;
  custom_domains?: string[];
  subdomain?: string;
  locations?: string[];
  http_user?: string;
  http_pwd?: string;
  host_header_rewrite?: string;
  headers?: Record<string, string>;
  response_headers?: Record<string, string>;
  route_by_http_user?: string;
  sk?: string;
  allow_users?: string[];
  multiplexer?: string;
}

export interface NewProxyResp {
  proxy_name?: string;
  remote_addr?: string;
  error?: string;
}

export interface CloseProxy {
  proxy_name?: string;
}

export interface NewWorkConn {
  run_id?: string;
  privilege_key?: string;
  timestamp?: number;
}

/** The reference declares no members; any keys received are dropped. */
export type ReqWorkConn = Record<string, never>;

export interface StartWorkConn {
  proxy_name?: string;
  src_addr?: string;
  dst_addr?: string;
  src_port?: number;
  dst_port?: number;
  error?: string;
  /** burrow's extension: what the far end of this work connection can read */
  burrow_features?: string[];
}

export interface NewVisitorConn {
  run_id?: string;
  proxy_name?: string;
  sign_key?: string;
  timestamp?: number;
  use_encryption?: boolean;
  use_compression?: boolean;
  /** burrow's extension: what this visitor can read */
  burrow_features?: string[];
}

export interface NewVisitorConnResp {
  proxy_name?: string;
  error?: string;
  /** burrow's extension: what the proxy's owner, at the far end of this connection, can read */
  burrow_features?: string[];
}

export interface Ping {
  privilege_key?: string;
  timestamp?: number;
}

export interface Pong {
  error?: string;
}

/** A UDP address as the reference serialises it: capitalised keys, `IP` as text. */
export interface UdpAddr {
  IP?: string;
  Port?: number;
  Zone?: string;
}

export interface UDPPacket {
  /** datagram payload, standard base64 with padding */
  c?: string;
  /** local address; the reference always leaves it out */
  l?: UdpAddr;
  /** remote (public user) address */
  r?: UdpAddr;
}

export interface NatHoleVisitor {
  transaction_id?: string;
  proxy_name?: string;
  pre_check?: boolean;
  protocol?: string;
  sign_key?: string;
  timestamp?: number;
  mapped_addrs?: string[];
  assisted_addrs?: string[];
}

export interface NatHoleClient {
  transaction_id?: string;
  proxy_name?: string;
  sid?: string;
  mapped_addrs?: string[];
  assisted_addrs?: string[];
}

export interface PortRange {
  from?: number;
  to?: number;
}

export interface NatHoleDetectBehavior {
  role?: string;
  mode?: number;
  ttl?: number;
  send_delay_ms?: number;
  /** milliseconds, although the key has no unit suffix */
  read_timeout?: number;
  candidate_ports?: PortRange[];
  send_random_ports?: number;
  listen_random_ports?: number;
}

export interface NatHoleResp {
  transaction_id?: string;
  sid?: string;
  protocol?: string;
  candidate_addrs?: string[];
  assisted_addrs?: string[];
  detect_behavior?: NatHoleDetectBehavior;
  error?: string;
}

export interface NatHoleSid {
  transaction_id?: string;
  sid?: string;
  response?: boolean;
  nonce?: string;
}

export interface NatHoleReport {
  sid?: string;
  success?: boolean;
}

export interface MessageBodies {
  Login: Login;
  LoginResp: LoginResp;
  NewProxy: NewProxy;
  NewProxyResp: NewProxyResp;
  CloseProxy: CloseProxy;
  NewWorkConn: NewWorkConn;
  ReqWorkConn: ReqWorkConn;
  StartWorkConn: StartWorkConn;
  NewVisitorConn: NewVisitorConn;
  NewVisitorConnResp: NewVisitorConnResp;
  Ping: Ping;
  Pong: Pong;
  UDPPacket: UDPPacket;
  NatHoleVisitor: NatHoleVisitor;
  NatHoleClient: NatHoleClient;
  NatHoleResp: NatHoleResp;
  NatHoleSid: NatHoleSid;
  NatHoleReport: NatHoleReport;
}

export type MessageType = keyof MessageBodies;

export type Message = { [K in MessageType]: { type: K; body: MessageBodies[K] } }[MessageType];

export const MESSAGE_TYPE_BYTE: Readonly<Record<MessageType, number>> = Object.freeze({
  Login: 0x6f, // 'o'
  LoginResp: 0x31, // '1'
  NewProxy: 0x70, // 'p'
  NewProxyResp: 0x32, // '2'
  CloseProxy: 0x63, // 'c'
  NewWorkConn: 0x77, // 'w'
  ReqWorkConn: 0x72, // 'r'
  StartWorkConn: 0x73, // 's'
  NewVisitorConn: 0x76, // 'v'
  NewVisitorConnResp: 0x33, // '3'
  Ping: 0x68, // 'h'
  Pong: 0x34, // '4'
  UDPPacket: 0x75, // 'u'
  NatHoleVisitor: 0x69, // 'i'
  NatHoleClient: 0x6e, // 'n'
  NatHoleResp: 0x6d, // 'm'
  NatHoleSid: 0x35, // '5'
  NatHoleReport: 0x36, // '6'
});

const TYPE_BY_BYTE: ReadonlyArray<MessageType | undefined> = (() => {
  const table = new Array<MessageType | undefined>(256).fill(undefined);
  for (const type of Object.keys(MESSAGE_TYPE_BYTE) as MessageType[]) table[MESSAGE_TYPE_BYTE[type]] = type;
  return table;
})();

export function messageTypeFromByte(byte: number): MessageType | undefined {
  return Number.isInteger(byte) && byte >= 0 && byte <= 0xff ? TYPE_BY_BYTE[byte] : undefined;
}

// ---------------------------------------------------------------------------
// Schema: key order and JSON type of every field.

/**
 * `int` is any safe integer, `u16` a port (0-65535). A struct is written even
 * when empty if `always` is set (the reference never drops a nested struct
 * value); a struct pointer the reference may leave nil is `always: false`.
 * `keepEmpty` marks structs whose members carry no omitempty in the reference,
 * so zero values are written too.
 */
export type FieldKind =
  | 'str'
  | 'int'
  | 'u16'
  | 'bool'
  | 'strs'
  | 'map'
  | { readonly struct: StructSchema; readonly always: boolean; readonly keepEmpty?: boolean }
  | { readonly list: StructSchema };

export type StructSchema = Readonly<Record<string, FieldKind>>;

/** Forces a schema to name every member of `T` and nothing else. */
type SchemaOf<T> = { readonly [F in keyof Required<T>]: FieldKind };

const CLIENT_SPEC: SchemaOf<ClientSpec> = { type: 'str', always_auth_pass: 'bool' };
const BURROW_SERVER_INFO: SchemaOf<BurrowServerInfo> = { features: 'strs', subdomain_host: 'str', vhost_http_port: 'u16', vhost_https_port: 'u16' };
const UDP_ADDR: SchemaOf<UdpAddr> = { IP: 'str', Port: 'int', Zone: 'str' };
const PORT_RANGE: SchemaOf<PortRange> = { from: 'int', to: 'int' };
const DETECT_BEHAVIOR: SchemaOf<NatHoleDetectBehavior> = {
  role: 'str',
  mode: 'int',
  ttl: 'int',
  send_delay_ms: 'int',
  read_timeout: 'int',
  candidate_ports: { list: PORT_RANGE },
  send_random_ports: 'int',
  listen_random_ports: 'int',
};

export const MESSAGE_SCHEMA: { readonly [K in MessageType]: SchemaOf<MessageBodies[K]> } = {
  Login: {
    version: 'str',
    hostname: 'str',
    os: 'str',
    arch: 'str',
    user: 'str',
    privilege_key: 'str',
    timestamp: 'int',
    run_id: 'str',
    client_id: 'str',
    metas: 'map',
    client_spec: { struct: CLIENT_SPEC, always: true },
    pool_count: 'int',
    ...BURROW_LOGIN_FIELDS,
  },
  LoginResp: { version: 'str', run_id: 'str', error: 'str', burrow_server: { struct: BURROW_SERVER_INFO, always: false } },
  NewProxy: {
    proxy_name: 'str',
    proxy_type: 'str',
    use_encryption: 'bool',
    use_compression: 'bool',
    bandwidth_limit: 'str',
    bandwidth_limit_mode: 'str',
    group: 'str',
    group_key: 'str',
    metas: 'map',
    annotations: 'map',
    remote_port: 'int',
    custom_domains: 'strs',
    subdomain: 'str',
    locations: 'strs',
    http_user: 'str',
    http_pwd: 'str',
    host_header_rewrite: 'str',
    headers: 'map',
    response_headers: 'map',
    route_by_http_user: 'str',
    sk: 'str',
    allow_users: 'strs',
    multiplexer: 'str',
    ...BURROW_PROXY_ACCESS_FIELDS,
  },
  NewProxyResp: { proxy_name: 'str', remote_addr: 'str', error: 'str' },
  CloseProxy: { proxy_name: 'str' },
  NewWorkConn: { run_id: 'str', privilege_key: 'str', timestamp: 'int' },
  ReqWorkConn: {},
  StartWorkConn: {
    proxy_name: 'str',
    src_addr: 'str',
    dst_addr: 'str',
    src_port: 'u16',
    dst_port: 'u16',
    error: 'str',
    burrow_features: 'strs',
  },
  NewVisitorConn: {
    run_id: 'str',
    proxy_name: 'str',
    sign_key: 'str',
    timestamp: 'int',
    use_encryption: 'bool',
    use_compression: 'bool',
    burrow_features: 'strs',
  },
  NewVisitorConnResp: { proxy_name: 'str', error: 'str', burrow_features: 'strs' },
  Ping: { privilege_key: 'str', timestamp: 'int' },
  Pong: { error: 'str' },
  UDPPacket: {
    c: 'str',
    l: { struct: UDP_ADDR, always: false, keepEmpty: true },
    r: { struct: UDP_ADDR, always: false, keepEmpty: true },
  },
  NatHoleVisitor: {
    transaction_id: 'str',
    proxy_name: 'str',
    pre_check: 'bool',
    protocol: 'str',
    sign_key: 'str',
    timestamp: 'int',
    mapped_addrs: 'strs',
    assisted_addrs: 'strs',
  },
  NatHoleClient: {
    transaction_id: 'str',
    proxy_name: 'str',
    sid: 'str',
    mapped_addrs: 'strs',
    assisted_addrs: 'strs',
  },
  NatHoleResp: {
    transaction_id: 'str',
    sid: 'str',
    protocol: 'str',
    candidate_addrs: 'strs',
    assisted_addrs: 'strs',
    detect_behavior: { struct: DETECT_BEHAVIOR, always: true },
    error: 'str',
  },
  NatHoleSid: { transaction_id: 'str', sid: 'str', response: 'bool', nonce: 'str' },
  NatHoleReport: { sid: 'str', success: 'bool' },
};
