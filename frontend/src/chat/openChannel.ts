// Open a channel the control plane just created or joined. The chat service
// learns of it through the sync worker a moment later, so look it up (never
// create it from the client) until it appears.
import type { Channel, StreamChat } from 'stream-chat';

const ATTEMPTS = 30;
const PAUSE_MS = 400;

export async function channelWhenSynced(client: StreamChat, cid: string, memberId: string): Promise<Channel> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const [found] = await client.queryChannels(
      { cid: { $in: [cid] }, members: { $in: [memberId] } },
      {},
      { watch: true, state: true, presence: true, limit: 1 },
    );
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
  throw new Error('The conversation is still being set up; it will appear in your list in a moment.');
}
