/**
 * X.509 v3 certificates built with node:crypto and our DER writer, so a server
 * without a configured certificate can still speak TLS (frpc turns TLS on by
 * default and skips verification unless it has a CA). The same builder signs
 * with another certificate's key, which is how tests make a CA and client
 * certificates for mutual TLS.
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { ipBytes } from '../util/address.js';
import { BurrowError, describeError } from '../util/errors.js';
import {
  DER_TAGS,
  decodeOid,
  derBitString,
  derBoolean,
  derExplicit,
  derImplicitPrimitive,
  derNamedBits,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derSmallInteger,
  derTime,
  derUnsignedInteger,
  derUtf8String,
  isIa5String,
  readDerChildren,
  readDerNode,
  type DerNode,
} from './der.js';

export interface CertificateOptions {
  /** Subject CN; also a subjectAltName when it looks like a host name or IP. Default "burrow". */
  commonName?: string;
  /** Validity from one hour ago (clock skew) to this many days ahead. Default 3650. */
  days?: number;
  /** Signer; absent = self-signed. Must be a CA certificate and its private key, PEM. */
  issuer?: { cert: string | Buffer; key: string | Buffer };
  /** Make a CA (basicConstraints cA, keyCertSign) instead of a server/client leaf. */
  isCA?: boolean;
  /** Extra subjectAltNames (DNS names or IP addresses) beyond the defaults. */
  altNames?: readonly string[];
  /** Key of the new certificate. P-256 takes about a millisecond, RSA-2048 tens of milliseconds or more. */
  keyType?: 'ec' | 'rsa';
}

export interface GeneratedCertificate {
  cert: string;
  key: string;
}

const OID = {
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  ed25519: '1.3.101.112',
} as const;

// keyUsage bit positions (RFC 5280 4.2.1.3).
const KU_DIGITAL_SIGNATURE = 0;
const KU_KEY_ENCIPHERMENT = 2;
const KU_KEY_CERT_SIGN = 5;
const KU_CRL_SIGN = 6;

const DEFAULT_COMMON_NAME = 'burrow';
const DEFAULT_DAYS = 3650;
const MAX_DAYS = 36_500;
const MAX_COMMON_NAME_LENGTH = 64; // X.520 upper bound for CN
const MAX_ALT_NAMES = 100;
const CLOCK_SKEW_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A throw-away self-signed server certificate, as a server makes at start when none is configured. */
export function generateSelfSignedCertificate(opts: { commonName?: string; days?: number } = {}): GeneratedCertificate {
  return generateCertificate(opts);
}

export function generateCertificate(opts: CertificateOptions = {}): GeneratedCertificate {
  const commonName = opts.commonName ?? DEFAULT_COMMON_NAME;
  const days = opts.days ?? DEFAULT_DAYS;
  if (commonName.length === 0 || commonName.length > MAX_COMMON_NAME_LENGTH) {
    throw new BurrowError('BURROW_CONFIG_INVALID', `certificate common name must be 1 to ${MAX_COMMON_NAME_LENGTH} characters`);
  }
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new BurrowError('BURROW_CONFIG_INVALID', `certificate validity must be a whole number of days from 1 to ${MAX_DAYS}, got ${days}`);
  }
  const isCA = opts.isCA ?? false;

  const { publicKey, privateKey } =
    opts.keyType === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const subjectKeyId = keyIdentifier(spki);
  const subject = encodeName(commonName);

  const signer = opts.issuer ? loadIssuer(opts.issuer) : { name: subject, key: privateKey, keyId: undefined };

  const now = Date.now();
  const extensions: Buffer[] = [
    extension(OID.basicConstraints, true, isCA ? derSequence(derBoolean(true)) : derSequence()),
    extension(OID.keyUsage, true, derNamedBits(keyUsageBits(isCA, opts.keyType === 'rsa'))),
  ];
  if (!isCA) extensions.push(extension(OID.extKeyUsage, false, derSequence(derOid(OID.serverAuth), derOid(OID.clientAuth))));
  extensions.push(extension(OID.subjectKeyIdentifier, false, derOctetString(subjectKeyId)));
  if (signer.keyId) {
    extensions.push(extension(OID.authorityKeyIdentifier, false, derSequence(derImplicitPrimitive(0, signer.keyId))));
  }
  if (!isCA) extensions.push(extension(OID.subjectAltName, false, encodeAltNames(commonName, opts.altNames ?? [])));

  const algorithm = signatureAlgorithm(signer.key);
  const tbs = derSequence(
    derExplicit(0, derSmallInteger(2)), // v3
    derUnsignedInteger(serialNumber()),
    algorithm.identifier,
    signer.name,
    derSequence(derTime(new Date(now - CLOCK_SKEW_MS)), derTime(new Date(now + days * DAY_MS))),
    subject,
    spki,
    derExplicit(3, derSequence(...extensions)),
  );
  const signature = sign(algorithm.hash, tbs, signer.key);
  const der = derSequence(tbs, algorithm.identifier, derBitString(signature));

  return {
    cert: toPem('CERTIFICATE', der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function keyUsageBits(isCA: boolean, rsa: boolean): number[] {
  if (isCA) return [KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN, KU_CRL_SIGN];
  // RSA key exchange (TLS 1.2 without ECDHE) needs keyEncipherment; harmless otherwise.
  return rsa ? [KU_DIGITAL_SIGNATURE, KU_KEY_ENCIPHERMENT] : [KU_DIGITAL_SIGNATURE];
}

/** 16 random bytes, top bit clear so the INTEGER is positive, next bit set so it keeps all 16 bytes. */
function serialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  return serial;
}

function encodeName(commonName: string): Buffer {
  return derSequence(derSet(derSequence(derOid(OID.commonName), derUtf8String(commonName))));
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  // DER omits a BOOLEAN that equals its DEFAULT (critical FALSE).
  return critical ? derSequence(derOid(oid), derBoolean(true), derOctetString(value)) : derSequence(derOid(oid), derOctetString(value));
}

const HOST_NAME = /^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*$/;

function encodeAltNames(commonName: string, extra: readonly string[]): Buffer {
  if (extra.length > MAX_ALT_NAMES) {
    throw new BurrowError('BURROW_CONFIG_INVALID', `at most ${MAX_ALT_NAMES} subject alternative names, got ${extra.length}`);
  }
  const names = new Set<string>();
  if (isIP(commonName) || HOST_NAME.test(commonName)) names.add(commonName);
  for (const name of extra) names.add(name);
  for (const name of ['localhost', '127.0.0.1', '::1']) names.add(name);
  const entries: Buffer[] = [];
  for (const name of names) {
    const ipVersion = isIP(name);
    if (ipVersion !== 0) {
      entries.push(derImplicitPrimitive(7, ipBytes(name, ipVersion === 4 ? 4 : 6)));
    } else if (isIa5String(name) && HOST_NAME.test(name)) {
      entries.push(derImplicitPrimitive(2, Buffer.from(name, 'latin1')));
    } else {
      throw new BurrowError('BURROW_CONFIG_INVALID', `"${name}" is neither a host name nor an IP address`);
    }
  }
  return derSequence(...entries);
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: Buffer): Buffer {
  const [, bitString] = readDerChildren(readDerNode(spki));
  if (!bitString || bitString.tag !== DER_TAGS.bitString) throw new BurrowError('BURROW_TLS', 'public key has no BIT STRING');
  return createHash('sha1').update(bitString.content.subarray(1)).digest();
}

interface Signer {
  name: Buffer;
  key: KeyObject;
  keyId: Buffer | undefined;
}

function loadIssuer(issuer: { cert: string | Buffer; key: string | Buffer }): Signer {
  let certificate: X509Certificate;
  let key: KeyObject;
  try {
    certificate = new X509Certificate(issuer.cert);
    key = createPrivateKey(issuer.key);
  } catch (err) {
    throw new BurrowError('BURROW_CONFIG_INVALID', `issuer certificate or key cannot be read: ${describeError(err)}`, { cause: err });
  }
  if (!certificate.ca) throw new BurrowError('BURROW_CONFIG_INVALID', `issuer certificate "${certificate.subject}" is not a CA`);
  if (!certificate.checkPrivateKey(key)) {
    throw new BurrowError('BURROW_CONFIG_INVALID', 'issuer key does not belong to the issuer certificate');
  }
  const tbs = readDerChildren(readDerChildren(readDerNode(certificate.raw))[0] ?? failTbs());
  // Fields after the optional [0] version: serial, signature, issuer, validity, subject, spki, ..., [3] extensions.
  const base = tbs[0]?.tag === 0xa0 ? 1 : 0;
  const subject = tbs[base + 4] ?? failTbs();
  const extensions = tbs.find((node) => node.tag === 0xa3);
  return { name: subject.raw, key, keyId: extensions ? findSubjectKeyId(extensions) : undefined };
}

function failTbs(): never {
  throw new BurrowError('BURROW_CONFIG_INVALID', 'issuer certificate has an unexpected structure');
}

function findSubjectKeyId(extensionsTag: DerNode): Buffer | undefined {
  const [list] = readDerChildren(extensionsTag);
  if (!list) return undefined;
  for (const ext of readDerChildren(list)) {
    const parts = readDerChildren(ext);
    const oid = parts[0];
    const value = parts[parts.length - 1];
    if (oid?.tag === DER_TAGS.oid && decodeOid(oid.content) === OID.subjectKeyIdentifier && value?.tag === DER_TAGS.octetString) {
      return readDerNode(value.content).content;
    }
  }
  return undefined;
}

function signatureAlgorithm(key: KeyObject): { identifier: Buffer; hash: string | null } {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { identifier: derSequence(derOid(OID.sha256WithRsa), derNull()), hash: 'sha256' };
    case 'ec': {
      // The hash follows the curve size, as TLS 1.3 signature schemes expect.
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return { identifier: derSequence(derOid(OID.ecdsaWithSha256)), hash: 'sha256' };
      if (curve === 'secp384r1') return { identifier: derSequence(derOid(OID.ecdsaWithSha384)), hash: 'sha384' };
      if (curve === 'secp521r1') return { identifier: derSequence(derOid(OID.ecdsaWithSha512)), hash: 'sha512' };
      throw new BurrowError('BURROW_CONFIG_INVALID', `issuer EC curve ${curve ?? 'unknown'} is not supported`);
    }
    case 'ed25519':
      return { identifier: derSequence(derOid(OID.ed25519)), hash: null };
    default:
      throw new BurrowError('BURROW_CONFIG_INVALID', `issuer key type ${key.asymmetricKeyType ?? 'unknown'} is not supported`);
  }
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
