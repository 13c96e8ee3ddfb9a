// A real webhook receiver on loopback that verifies every delivery with the official
// `standardwebhooks` package, as a user's system would, and records what it saw. Its answer can be
// changed (accept, reject with a status, hang) and it can go down (stop listening) and come back
// on the same port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export type Received = {
  webhookId: string;
  timestamp: string;
  body: string;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
  verified: boolean;
  verifyError?: string;
  answered: number;
  at: number;
};

export type Answer = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export class Receiver {
  received: Received[] = [];
  answer: Answer | number = 200;
  private server: Server | undefined;
  private secret: string | undefined;
  port = 0;
  host: string;
  constructor(host = '127.0.0.1') {
    this.host = host;
  }
  get url() {
    return `http://${this.host}:${this.port}/hooks/tvdb?key=abc`;
  }
  verifyWith(secret: string) {
    this.secret = secret;
  }
  async start(port = this.port) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, this.host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }
  /** Down: stops listening and drops open connections (deliveries fail to connect). */
  async stop() {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  private handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const headers = {
      'webhook-id': String(req.headers['webhook-id'] ?? ''),
      'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
      'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
    };
    let verified = false;
    let verifyError: string | undefined;
    try {
      new Webhook(this.secret!).verify(body, headers);
      verified = true;
    } catch (error) {
      verifyError = (error as Error).message;
    }
    let payload: Received['payload'];
    try {
      payload = JSON.parse(body);
    } catch {
      payload = { type: 'unparseable', timestamp: '', data: {} };
    }
    const answered = typeof this.answer === 'number' ? this.answer : 0;
    this.received.push({
      webhookId: headers['webhook-id'],
      timestamp: headers['webhook-timestamp'],
      body,
      payload,
      verified,
      ...(verifyError ? { verifyError } : {}),
      answered,
      at: Date.now(),
    });
    if (typeof this.answer === 'function') return this.answer(req, res, body);
    res.writeHead(this.answer, { 'content-type': 'text/plain' }).end(this.answer < 300 ? 'ok' : 'not now');
  }
  /** Deliveries the receiver accepted (2xx), in arrival order. */
  accepted() {
    return this.received.filter((r) => r.answered >= 200 && r.answered < 300);
  }
}

export async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 60_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
