// The official stream-chat JS client (pinned in package.json), unmodified,
// against a live engine: two users of one team chat in real time; a user of
// another team is kept out. Run by chatengine/tests/test_js_sdk.py.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  collectEvents,
  connect,
  controlURL,
  makeUsers,
  nowSeconds,
  server,
  uid,
  waitForEvent,
} from './helpers.mjs';

describe('two users of one team', () => {
  let alice;
  let bob;
  let aliceClient;
  let bobClient;
  let channelId;
  let aliceChannel;
  let bobChannel;

  before(async () => {
    await server.updateAppSettings({ multi_tenant_enabled: true });
    [alice, bob] = await makeUsers('acme', 'Alice', 'Bob');
    channelId = uid('acme-general');
    await server
      .channel('messaging', channelId, { team: 'acme', name: 'General', members: [alice, bob], created_by_id: alice })
      .create();
    aliceClient = await connect(alice);
    bobClient = await connect(bob);
  });

  after(async () => {
    await aliceClient?.disconnectUser();
    await bobClient?.disconnectUser();
  });

  test('connecting yields the user, its teams and a connection id', () => {
    assert.equal(aliceClient.user.id, alice);
    assert.deepEqual(aliceClient.user.teams, ['acme']);
    assert.ok(aliceClient.wsConnection.connectionID);
    assert.deepEqual(aliceClient.mutedChannels, []);
    assert.equal(aliceClient.user.total_unread_count, 0);
  });

  test('queryChannels finds and watches the channel', async () => {
    const channels = await aliceClient.queryChannels(
      { type: 'messaging', members: { $in: [alice] } },
      [{ last_message_at: -1 }],
      { watch: true, state: true },
    );
    const found = channels.find((channel) => channel.id === channelId);
    assert.ok(found, 'the channel is listed');
    assert.equal(found.data.name, 'General');
    assert.equal(found.data.team, 'acme');
    assert.equal(found.data.member_count, 2);
    for (const capability of ['send-message', 'send-reaction', 'send-reply', 'read-events', 'typing-events']) {
      assert.ok(found.data.own_capabilities.includes(capability), capability);
    }
    for (const capability of ['pin-message', 'delete-any-message', 'update-channel-members', 'ban-channel-members']) {
      assert.ok(!found.data.own_capabilities.includes(capability), `a plain member has no ${capability}`);
    }
    aliceChannel = found;
    bobChannel = bobClient.channel('messaging', channelId);
    await bobChannel.watch();
    assert.equal(bobChannel.state.members[alice].user.id, alice);
  });

  test('whoever starts watching is counted in the answer it gets', async () => {
    // The raw answers: the client's own user.watching.start event must not paper over them.
    const roomId = uid('acme-watch');
    await server
      .channel('messaging', roomId, { team: 'acme', members: [alice, bob], created_by_id: alice })
      .create();
    const listed = await aliceClient.queryChannelsRequest({ cid: `messaging:${roomId}` }, [], { watch: true });
    assert.equal(listed[0].watcher_count, 1, 'queryChannels counts the caller');
    assert.deepEqual(listed[0].watchers.map((user) => user.id), [alice]);

    const watched = await bobClient.channel('messaging', roomId).watch();
    assert.equal(watched.watcher_count, 2, 'a watch counts the caller');
    assert.deepEqual(watched.watchers.map((user) => user.id).sort(), [alice, bob].sort());

    // Channels come from the control plane; a client finds a distinct one by its members.
    await server.channel('messaging', { members: [alice, bob], team: 'acme', created_by_id: alice }).create();
    const distinct = await bobClient.channel('messaging', { members: [alice, bob], team: 'acme' }).watch();
    assert.equal(distinct.watcher_count, 1, 'watching a distinct channel counts the caller');
    assert.deepEqual(distinct.watchers.map((user) => user.id), [bob]);
  });

  test('a message reaches the other user in real time', async () => {
    const received = waitForEvent(bobClient, 'message.new', (event) => event.message.text === 'hello bob');
    const { message } = await aliceChannel.sendMessage({ text: 'hello bob' });
    const event = await received;
    assert.equal(event.message.id, message.id);
    assert.equal(event.user.id, alice);
    assert.equal(event.channel_type, 'messaging');
    assert.equal(event.channel_id, channelId);
    assert.ok(bobChannel.state.messages.some((m) => m.id === message.id));

    await assert.rejects(aliceChannel.sendMessage({ id: message.id, text: 'again' }), (error) => {
      assert.equal(error.code, 4);
      assert.match(error.message, /already exists/);
      return true;
    });
  });

  test('a file goes up, reaches the other user as an attachment, and comes back down', async () => {
    assert.ok(aliceChannel.data.own_capabilities.includes('upload-file'));
    const bytes = Buffer.from('minutes of the meeting\n');
    const { file } = await aliceChannel.sendFile(bytes, 'minutes.txt', 'text/plain');
    assert.match(file, /\/uploads\/[A-Za-z0-9_-]+\/minutes\.txt$/);
    const received = waitForEvent(bobClient, 'message.new', (event) => event.message.text === 'the minutes');
    await aliceChannel.sendMessage({
      text: 'the minutes',
      attachments: [{ type: 'file', asset_url: file, title: 'minutes.txt', mime_type: 'text/plain' }],
    });
    const event = await received;
    assert.equal(event.message.attachments[0].asset_url, file);
    const download = await fetch(file);
    assert.equal(download.status, 200);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), bytes);
    await aliceChannel.deleteFile(file);
    assert.equal((await fetch(file)).status, 404);
  });

  test('mutes of a channel and of a user reach the client and its next connection', async () => {
    const channelMuted = waitForEvent(bobClient, 'notification.channel_mutes_updated');
    await bobChannel.mute();
    await channelMuted;
    assert.equal(bobChannel.muteStatus().muted, true);
    const userMuted = waitForEvent(bobClient, 'notification.mutes_updated');
    await bobClient.muteUser(alice);
    await userMuted;
    assert.equal(bobClient.userMuteStatus(alice), true);

    const again = await connect(bob);
    assert.deepEqual(again.mutedChannels.map((mute) => mute.channel.cid), [bobChannel.cid]);
    assert.deepEqual(again.mutedUsers.map((mute) => mute.target.id), [alice]);
    await again.disconnectUser();

    const channelUnmuted = waitForEvent(bobClient, 'notification.channel_mutes_updated');
    await bobChannel.unmute();
    await channelUnmuted;
    assert.equal(bobChannel.muteStatus().muted, false);
    const userUnmuted = waitForEvent(bobClient, 'notification.mutes_updated');
    await bobClient.unmuteUser(alice);
    await userUnmuted;
    assert.equal(bobClient.userMuteStatus(alice), false);
  });

  test('thread replies stay in the thread and count on the parent', async () => {
    const { message: parent } = await aliceChannel.sendMessage({ text: 'question?' });
    const updated = waitForEvent(
      aliceClient,
      'message.updated',
      (event) => event.message.id === parent.id && event.message.reply_count === 1,
    );
    await bobChannel.sendMessage({ text: 'answer', parent_id: parent.id });
    const event = await updated;
    assert.deepEqual(
      event.message.thread_participants.map((user) => user.id),
      [bob],
    );
    const { messages } = await aliceChannel.getReplies(parent.id, { limit: 10 });
    assert.deepEqual(
      messages.map((m) => m.text),
      ['answer'],
    );
    const state = await aliceChannel.query({ messages: { limit: 30 } });
    assert.ok(!state.messages.some((m) => m.text === 'answer'), 'replies are not in the channel history');
    assert.equal(state.messages.find((m) => m.id === parent.id).reply_count, 1);
  });

  test('reactions arrive with reaction_groups and own_reactions', async () => {
    const { message } = await aliceChannel.sendMessage({ text: 'react to me' });
    const seen = waitForEvent(aliceClient, 'reaction.new', (event) => event.message.id === message.id);
    const response = await bobChannel.sendReaction(message.id, { type: 'love' });
    assert.equal(response.reaction.type, 'love');
    assert.deepEqual(
      response.message.own_reactions.map((r) => r.type),
      ['love'],
    );
    const event = await seen;
    assert.equal(event.message.reaction_groups.love.count, 1);
    assert.equal(event.reaction.user.id, bob);
    const inState = aliceChannel.state.messages.find((m) => m.id === message.id);
    assert.equal(inState.reaction_groups.love.count, 1);

    const removed = waitForEvent(aliceClient, 'reaction.deleted', (e) => e.message.id === message.id);
    await bobChannel.deleteReaction(message.id, 'love');
    assert.deepEqual((await removed).message.reaction_groups, {});
  });

  test('typing indicators reach the other user', async () => {
    const started = waitForEvent(bobClient, 'typing.start', (event) => event.user.id === alice);
    await aliceChannel.keystroke();
    await started;
    const stopped = waitForEvent(bobClient, 'typing.stop', (event) => event.user.id === alice);
    await aliceChannel.stopTyping();
    await stopped;
  });

  test('unread counts are per recipient and markRead clears them', async () => {
    await bobChannel.markRead();
    const events = collectEvents(bobClient, 'message.new');
    const second = waitForEvent(bobClient, 'message.new', (event) => event.message.text === 'unread 2');
    const own = waitForEvent(aliceClient, 'message.new', (event) => event.message.text === 'unread 2');
    await aliceChannel.sendMessage({ text: 'unread 1' });
    await aliceChannel.sendMessage({ text: 'unread 2' });
    const bobsEvent = await second;
    events.stop();
    assert.equal(bobsEvent.total_unread_count, 2, 'the recipient counts both');
    assert.equal(bobsEvent.unread_channels, 1);
    assert.equal((await own).total_unread_count, 0, 'the author has nothing unread');
    assert.equal(bobChannel.countUnread(), 2);

    const readByBob = waitForEvent(aliceClient, 'message.read', (event) => event.user.id === bob);
    const cleared = waitForEvent(bobClient, 'notification.mark_read', (event) => event.total_unread_count === 0);
    await bobChannel.markRead();
    await cleared;
    await readByBob;
    assert.equal(bobChannel.countUnread(), 0);
    const fresh = await bobChannel.query({ messages: { limit: 1 } });
    assert.equal(fresh.read.find((read) => read.user.id === bob).unread_messages, 0);
  });

  test('edits and deletes reach the other user', async () => {
    const { message } = await aliceChannel.sendMessage({ text: 'typo' });
    const edited = waitForEvent(bobClient, 'message.updated', (event) => event.message.id === message.id);
    await aliceClient.updateMessage({ ...message, text: 'fixed' });
    assert.equal((await edited).message.text, 'fixed');

    const deleted = waitForEvent(bobClient, 'message.deleted', (event) => event.message.id === message.id);
    await aliceClient.deleteMessage(message.id);
    const event = await deleted;
    assert.equal(event.message.type, 'deleted');
    assert.ok(event.message.deleted_at);

    await assert.rejects(bobClient.deleteMessage((await aliceChannel.sendMessage({ text: 'mine' })).message.id), (error) => {
      assert.equal(error.code, 17);
      return true;
    });
  });

  test('membership and channel changes reach watchers and the users concerned', async () => {
    const [carol] = await makeUsers('acme', 'Carol');
    const carolClient = await connect(carol);
    const serverChannel = server.channel('messaging', channelId);
    try {
      const invited = waitForEvent(carolClient, 'notification.added_to_channel', (e) => e.channel.id === channelId);
      const memberAdded = waitForEvent(aliceClient, 'member.added', (e) => e.member.user_id === carol);
      await serverChannel.addMembers([carol]);
      await invited;
      assert.equal((await memberAdded).member.channel_role, 'channel_member');

      // Carol is a member who is not watching: new messages reach her as notifications.
      const notified = waitForEvent(carolClient, 'notification.message_new', (e) => e.message.text === 'for carol');
      await aliceChannel.sendMessage({ text: 'for carol' });
      const notification = await notified;
      assert.equal(notification.channel.config.read_events, true, 'the channel comes with its config');
      assert.equal(notification.total_unread_count, 1, 'a new member starts with nothing unread');

      const watching = waitForEvent(aliceClient, 'user.watching.start', (e) => e.user.id === carol);
      await carolClient.channel('messaging', channelId).watch();
      assert.equal((await watching).watcher_count, 3);

      const updated = waitForEvent(carolClient, 'channel.updated', (e) => e.channel.topic === 'planning');
      await serverChannel.updatePartial({ set: { topic: 'planning' } });
      await updated;

      // Removed, Carol's client stops watching (or its socket closes): the others see it.
      const stopped = waitForEvent(aliceClient, 'user.watching.stop', (e) => e.user.id === carol);
      const removed = waitForEvent(aliceClient, 'member.removed', (e) => e.member.user_id === carol);
      const told = waitForEvent(carolClient, 'notification.removed_from_channel', (e) => e.channel.id === channelId);
      await serverChannel.removeMembers([carol]);
      await Promise.all([removed, told]);
      await carolClient.disconnectUser();
      assert.equal((await stopped).watcher_count, 2);
    } finally {
      await carolClient.disconnectUser();
    }
  });

  test('300 messages page back with id_lt at the client page size', async () => {
    const historyId = uid('acme-history');
    const history = server.channel('messaging', historyId, { team: 'acme', members: [alice], created_by_id: alice });
    await history.create();
    for (let i = 0; i < 300; i += 1) {
      await history.sendMessage({ text: `#${i}`, user_id: alice });
    }
    const channel = aliceClient.channel('messaging', historyId);
    const first = await channel.watch();
    assert.equal(first.messages.length, 100, 'watch returns the client default page of 100');
    const texts = first.messages.map((m) => m.text);
    let oldest = first.messages[0].id;
    for (;;) {
      const page = await channel.query({ messages: { limit: 100, id_lt: oldest } });
      if (page.messages.length === 0) break;
      texts.unshift(...page.messages.map((m) => m.text));
      oldest = page.messages[0].id;
    }
    assert.deepEqual(
      texts,
      Array.from({ length: 300 }, (_, i) => `#${i}`),
    );

    const ids = (await channel.query({ messages: { limit: 300 } })).messages.map((m) => m.id);
    const around = await channel.query({ messages: { limit: 10, id_around: ids[150] } });
    assert.deepEqual(
      around.messages.map((m) => m.text),
      Array.from({ length: 10 }, (_, i) => `#${145 + i}`),
    );
    const after = await channel.query({ messages: { limit: 5, id_gt: ids[0] } });
    assert.deepEqual(
      after.messages.map((m) => m.text),
      ['#1', '#2', '#3', '#4', '#5'],
    );
    // A fresh client (its channel state starts empty) sees the queryChannels default page of 25.
    const fresh = await connect(alice);
    const [listed] = await fresh.queryChannels({ cid: channel.cid }, {}, { watch: false });
    assert.equal(listed.state.messages.length, 25, 'queryChannels returns the client default of 25');
    assert.equal(listed.state.messages.at(-1).text, '#299');
    await fresh.disconnectUser();
  });

  test('pin and archive from the channel list reach the member and reorder its list', async () => {
    const otherId = uid('acme-archive');
    await server
      .channel('messaging', otherId, { team: 'acme', members: [alice, bob], created_by_id: alice })
      .create();
    await server.channel('messaging', otherId).sendMessage({ text: 'the newest of all', user_id: bob });
    const other = aliceClient.channel('messaging', otherId);
    await other.watch();

    const pinned = waitForEvent(aliceClient, 'member.updated', (e) => e.cid === aliceChannel.cid && !!e.member.pinned_at);
    const member = await aliceChannel.pin();
    assert.equal(typeof member.pinned_at, 'string');
    assert.equal((await pinned).member.user.id, alice);
    assert.equal(aliceChannel.state.membership.pinned_at, member.pinned_at);
    const archived = waitForEvent(aliceClient, 'member.updated', (e) => e.cid === other.cid && !!e.member.archived_at);
    await other.archive();
    await archived;
    assert.equal(typeof other.state.membership.archived_at, 'string');

    // What the kit's ChannelList sends to keep pinned channels on top and archived ones apart.
    const sort = [{ pinned_at: -1 }, { last_message_at: -1 }];
    const listed = await aliceClient.queryChannels({ members: { $in: [alice] }, archived: false }, sort, { watch: false });
    assert.equal(listed[0].cid, aliceChannel.cid, 'the pinned channel comes first');
    assert.equal(listed[0].state.membership.pinned_at, member.pinned_at);
    assert.ok(!listed.some((channel) => channel.cid === other.cid), 'archived channels are left out');
    const inArchive = await aliceClient.queryChannels({ members: { $in: [alice] }, archived: true }, sort, { watch: false });
    assert.deepEqual(inArchive.map((channel) => channel.cid), [other.cid]);

    await assert.rejects(bobChannel.partialUpdateMember(alice, { set: { pinned: true } }), (error) => {
      assert.equal(error.code, 17, 'a member changes only its own membership');
      return true;
    });

    const unpinned = waitForEvent(aliceClient, 'member.updated', (e) => e.cid === aliceChannel.cid && !e.member.pinned_at);
    await aliceChannel.unpin();
    await unpinned;
    assert.equal(aliceChannel.state.membership.pinned_at, undefined);
    await other.unarchive();
    const back = await aliceClient.queryChannels({ cid: other.cid, archived: false }, sort, { watch: false });
    assert.deepEqual(back.map((channel) => channel.cid), [other.cid]);
  });

  test('a block silences the blocked user in the conversation of the two, not in a group', async () => {
    const [carol] = await makeUsers('acme', 'Carol');
    const dmId = uid('acme-dm');
    const groupId = uid('acme-group');
    await server.channel('messaging', dmId, { team: 'acme', members: [alice, bob], created_by_id: alice }).create();
    await server
      .channel('messaging', groupId, { team: 'acme', members: [alice, bob, carol], created_by_id: alice })
      .create();
    const dm = aliceClient.channel('messaging', dmId);
    const group = aliceClient.channel('messaging', groupId);
    await dm.watch();
    await group.watch();

    const hidden = waitForEvent(aliceClient, 'channel.hidden', (e) => e.cid === dm.cid);
    await aliceClient.blockUser(bob);
    await hidden;
    assert.deepEqual(aliceClient.blockedUsers.getLatestValue().userIds, [bob]);
    const { blocks } = await aliceClient.getBlockedUsers();
    assert.deepEqual(blocks.map((entry) => [entry.user_id, entry.blocked_user.id]), [[alice, bob]]);

    // Events leave in commit order: once the group message is in, the other would have been too.
    const heard = collectEvents(aliceClient, 'message.new');
    const inGroup = waitForEvent(aliceClient, 'message.new', (e) => e.message.text === 'to the group');
    await server.channel('messaging', dmId).sendMessage({ text: 'to alice alone', user_id: bob });
    await server.channel('messaging', groupId).sendMessage({ text: 'to the group', user_id: bob });
    await inGroup;
    heard.stop();
    assert.deepEqual(heard.events.map((e) => e.message.text), ['to the group']);

    const listed = await aliceClient.queryChannels({ cid: { $in: [dm.cid, group.cid] } }, {}, { watch: false });
    assert.deepEqual(listed.map((channel) => channel.cid), [group.cid], 'the conversation is hidden');
    const [asked] = await aliceClient.queryChannelsRequest({ cid: dm.cid, hidden: true }, [], { watch: false });
    assert.equal(asked.channel.blocked, true);
    assert.equal(asked.read.find((read) => read.user.id === alice).unread_messages, 0);

    const again = await connect(alice);
    assert.deepEqual(again.blockedUsers.getLatestValue().userIds, [bob], 'the next connection knows');
    await again.disconnectUser();

    const visible = waitForEvent(aliceClient, 'channel.visible', (e) => e.cid === dm.cid);
    await aliceClient.unBlockUser(bob);
    await visible;
    assert.deepEqual(aliceClient.blockedUsers.getLatestValue().userIds, []);
    const back = waitForEvent(aliceClient, 'message.new', (e) => e.message.text === 'hello again');
    await server.channel('messaging', dmId).sendMessage({ text: 'hello again', user_id: bob });
    await back;
  });

  test('members are queryable', async () => {
    const { members } = await aliceChannel.queryMembers({}, { created_at: 1 }, {});
    assert.deepEqual(members.map((m) => m.user_id).sort(), [alice, bob].sort());
  });

  test('both clients recover after the server drops their sockets', { skip: !controlURL }, async () => {
    const aliceBack = waitForEvent(aliceClient, 'connection.recovered', () => true, 45000);
    const bobBack = waitForEvent(bobClient, 'connection.recovered', () => true, 45000);
    const restart = await fetch(`${controlURL}/restart`, { method: 'POST' });
    assert.equal(restart.status, 200);
    await Promise.all([aliceBack, bobBack]);

    // recoverState re-watched the channels with the new connection ids.
    const received = waitForEvent(bobClient, 'message.new', (event) => event.message.text === 'after restart');
    await server.channel('messaging', channelId).sendMessage({ text: 'after restart', user_id: alice });
    await received;
  });
});

describe('a user of another team', () => {
  let acmeUser;
  let acmeChannelId;
  let zedClient;

  before(async () => {
    [acmeUser] = await makeUsers('acme', 'Carol');
    const [zed] = await makeUsers('globex', 'Zed');
    acmeChannelId = uid('acme-private');
    await server
      .channel('messaging', acmeChannelId, { team: 'acme', members: [acmeUser], created_by_id: acmeUser })
      .create();
    await server.channel('messaging', uid('globex-room'), { team: 'globex', members: [zed], created_by_id: zed }).create();
    zedClient = await connect(zed);
  });

  after(async () => {
    await zedClient?.disconnectUser();
  });

  test('sees only its own team in queryChannels and queryUsers', async () => {
    const channels = await zedClient.queryChannels({}, {}, { limit: 30 });
    assert.ok(channels.length >= 1);
    assert.ok(channels.every((channel) => channel.data.team === 'globex'));
    const none = await zedClient.queryChannels({ cid: `messaging:${acmeChannelId}` });
    assert.deepEqual(none, []);
    const { users } = await zedClient.queryUsers({ id: { $in: [acmeUser] } });
    assert.deepEqual(users, []);
  });

  test('cannot block a user of the other team: it looks missing', async () => {
    for (const id of [acmeUser, uid('nobody')]) {
      await assert.rejects(zedClient.blockUser(id), (error) => {
        assert.equal(error.code, 16);
        return true;
      });
    }
    await assert.rejects(zedClient.blockUser(zedClient.userID), (error) => {
      assert.equal(error.code, 4, 'nobody blocks itself');
      return true;
    });
  });

  test('cannot pin or archive the other team channel: it looks missing', async () => {
    for (const id of [acmeChannelId, uid('no-such-channel')]) {
      await assert.rejects(zedClient.channel('messaging', id).pin(), (error) => {
        assert.equal(error.code, 16);
        assert.equal(error.status, 404);
        return true;
      });
    }
  });

  test('cannot watch or post in the other team channel', async () => {
    const foreign = zedClient.channel('messaging', acmeChannelId);
    await assert.rejects(foreign.watch(), (error) => {
      assert.equal(error.code, 17);
      return true;
    });
    await assert.rejects(foreign.sendMessage({ text: 'intrusion' }), (error) => {
      assert.equal(error.code, 17);
      return true;
    });
  });
});

test('an expired token is refused with code 40', async () => {
  const [user] = await makeUsers('acme', 'Late');
  const expired = server.createToken(user, nowSeconds() - 60);
  await assert.rejects(connect(user, { token: expired }), (error) => {
    // A refused handshake rejects connectUser with the server's error as JSON.
    const detail = JSON.parse(error.message);
    assert.equal(detail.code, 40);
    assert.equal(detail.StatusCode, 401);
    assert.equal(detail.isWSFailure, false);
    return true;
  });
});
