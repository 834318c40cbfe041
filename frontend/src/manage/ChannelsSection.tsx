'use client';

import { type FormEvent, useState } from 'react';

import { Dialog, ErrorText } from '@/components/Dialog';
import { Table } from '@/components/Table';
import { api, type Channel } from '@/lib/api';
import { useAction, useDebounced, useLoad } from '@/lib/hooks';

import { ChannelMembers } from './ChannelMembers';

type Visibility = Channel['visibility'];

function ChannelFields({ channel }: { channel?: Channel }) {
  return (
    <>
      <label className="field">
        <span>Channel name</span>
        <input name="name" required maxLength={100} defaultValue={channel?.name} />
      </label>
      <label className="field">
        <span>Description</span>
        <input name="description" maxLength={2000} defaultValue={channel?.description} />
      </label>
      <label className="field">
        <span>Visibility</span>
        <select name="visibility" defaultValue={channel?.visibility ?? 'public'}>
          <option value="public">Public: anyone in the organization can join</option>
          <option value="private">Private: members only</option>
        </select>
      </label>
    </>
  );
}

function fieldsOf(form: HTMLFormElement) {
  const data = new FormData(form);
  return {
    name: String(data.get('name') ?? '').trim(),
    description: String(data.get('description') ?? ''),
    visibility: String(data.get('visibility') ?? 'public') as Visibility,
  };
}

function CreateChannelForm({ onCreated }: { onCreated: () => void }) {
  const action = useAction();
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    if (await action.run(() => api.channelCreate(fieldsOf(form)))) {
      form.reset();
      onCreated();
    }
  };
  return (
    <form className="form form--inline" onSubmit={submit} aria-label="Create a channel">
      <ChannelFields />
      <div className="form__buttons">
        <button type="submit" className="button button--primary" disabled={action.busy}>
          Create channel
        </button>
      </div>
      <ErrorText error={action.error} />
    </form>
  );
}

function EditChannel({ channel, onClose }: { channel: Channel; onClose: (changed: boolean) => void }) {
  const action = useAction();
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    if (await action.run(() => api.channelUpdate(channel.id, fieldsOf(form)))) onClose(true);
  };
  return (
    <Dialog title={`Edit #${channel.name}`} open onClose={() => onClose(false)}>
      <form className="form" onSubmit={submit}>
        <ChannelFields channel={channel} />
        <ErrorText error={action.error} />
        <button type="submit" className="button button--primary" disabled={action.busy}>
          Save
        </button>
      </form>
    </Dialog>
  );
}

function ChannelRow({ channel, onChanged }: { channel: Channel; onChanged: () => void }) {
  const action = useAction();
  const [open, setOpen] = useState<'edit' | 'members' | null>(null);
  const remove = () => {
    if (!window.confirm(`Delete #${channel.name} and all its messages?`)) return;
    void action.run(() => api.channelDelete(channel.id)).then((ok) => ok && onChanged());
  };
  return (
    <tr>
      <td># {channel.name}</td>
      <td>{channel.visibility === 'public' ? 'Public' : 'Private'}</td>
      <td>{channel.member_count}</td>
      <td className="actions">
        <button type="button" className="button" onClick={() => setOpen('members')} aria-label={`Members of ${channel.name}`}>
          Members
        </button>
        <button type="button" className="button" onClick={() => setOpen('edit')} aria-label={`Edit ${channel.name}`}>
          Edit
        </button>
        <button
          type="button"
          className="button button--danger"
          disabled={action.busy}
          onClick={remove}
          aria-label={`Delete ${channel.name}`}
        >
          Delete
        </button>
        <ErrorText error={action.error} />
        {open === 'edit' && (
          <EditChannel
            channel={channel}
            onClose={(changed) => {
              setOpen(null);
              if (changed) onChanged();
            }}
          />
        )}
        {open === 'members' && (
          <ChannelMembers
            channel={channel}
            onClose={() => {
              setOpen(null);
              onChanged();
            }}
          />
        )}
      </td>
    </tr>
  );
}

export function ChannelsSection() {
  const [search, setSearch] = useState('');
  const term = useDebounced(search);
  const channels = useLoad(() => api.channels({ search: term || undefined, kind: 'channel', page_size: 100 }), [term]);
  return (
    <section className="card" aria-labelledby="manage-channels">
      <h2 id="manage-channels">Channels</h2>
      <CreateChannelForm onCreated={channels.reload} />
      <label className="field field--search">
        <span>Search channels</span>
        <input type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
      </label>
      <ErrorText error={channels.error} />
      <Table columns={['Channel', 'Visibility', 'Members']}>
        {channels.data?.results.map((channel) => (
          <ChannelRow key={channel.id} channel={channel} onChanged={channels.reload} />
        ))}
      </Table>
    </section>
  );
}
