// Shared helpers of the SDK contract tests: the server-side client, user
// clients with tokens, and a way to wait for a WebSocket event.
import { randomUUID } from 'node:crypto';
import { StreamChat } from 'stream-chat';

export const baseURL = process.env.CHAT_BASE_URL;
export const apiKey = process.env.CHAT_API_KEY;
export const apiSecret = process.env.CHAT_API_SECRET;
export const controlURL = process.env.CHAT_CONTROL_URL;

if (!baseURL || !apiKey || !apiSecret) {
  throw new Error('CHAT_BASE_URL, CHAT_API_KEY and CHAT_API_SECRET must be set');
}

export const server = new StreamChat(apiKey, apiSecret, { baseURL, timeout: 10000 });

export const uid = (prefix) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Upsert users of one team (server side) and return their ids. */
export async function makeUsers(team, ...names) {
  const users = names.map((name) => ({ id: uid(`${team}-${name}`), name, role: 'user', teams: [team] }));
  await server.upsertUsers(users);
  return users.map((user) => user.id);
}

/** A connected client for `userId`: a fresh StreamChat instance, as a browser tab would have. */
export async function connect(userId, { token } = {}) {
  const client = new StreamChat(apiKey, { baseURL, timeout: 10000 });
  await client.connectUser({ id: userId }, token ?? server.createToken(userId, nowSeconds() + 3600, nowSeconds() - 5));
  return client;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Resolve with the first event of `type` on `target` (a client or a channel)
 * that `predicate` accepts; reject after `timeout` ms.
 */
export function waitForEvent(target, type, predicate = () => true, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`no ${type} event within ${timeout} ms`));
    }, timeout);
    const subscription = target.on(type, (event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      subscription.unsubscribe();
      resolve(event);
    });
  });
}

/** Collect every event of `type` on `target` until `stop()` is called. */
export function collectEvents(target, type) {
  const events = [];
  const subscription = target.on(type, (event) => events.push(event));
  return { events, stop: () => subscription.unsubscribe() };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
