// Message actions a person may use, from the channel's own_capabilities (what
// the chat service will accept from this user here). The UI kit filters some
// actions itself; this covers the rest (it offers Pin to everyone, then
// swallows the refusal), so nothing is shown that the service would refuse.
import type { MessageActionSetItem } from 'stream-chat-react';

const REQUIRED_CAPABILITY: Record<string, string> = {
  pin: 'pin-message',
  flag: 'flag-message',
  quote: 'quote-message',
  react: 'send-reaction',
  reply: 'send-reply',
  markUnread: 'read-events',
};

export function allowedActions(
  actions: MessageActionSetItem[],
  capabilities: Record<string, boolean>,
): MessageActionSetItem[] {
  return actions.filter((action) => {
    if (action.placement === 'quick-dropdown-toggle') return true;
    const required = REQUIRED_CAPABILITY[action.type];
    return required === undefined || capabilities[required] === true;
  });
}
