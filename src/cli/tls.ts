/** Self-signed certificate for local use, generated once and kept beside the store. */
import fs from 'node:fs';
import path from 'node:path';

export async function ensureSelfSignedCertificate(dir: string, hostnames: string[]): Promise<{ cert: string; key: string }> {
  const certFile = path.join(dir, 'relay-cert.pem');
  const keyFile = path.join(dir, 'relay-key.pem');
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    return { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
  }
  const pems = await generateSelfSigned(hostnames);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(certFile, pems.cert, { mode: 0o644 });
  fs.writeFileSync(keyFile, pems.key, { mode: 0o600 });
  return pems;
}

export async function generateSelfSigned(hostnames: string[]): Promise<{ cert: string; key: string }> {
  // selfsigned uses Node's WebCrypto; it is only loaded when a certificate is needed.
  const selfsigned = (await import('selfsigned')) as unknown as {
    generate(attrs: unknown, opts: unknown): Promise<{ cert: string; private: string }>;
  };
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + 2);
  const altNames = hostnames.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7, ip: h } : { type: 2, value: h }));
  const pems = await selfsigned.generate([{ name: 'commonName', value: hostnames[0] ?? 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
