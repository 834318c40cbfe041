import { ChatApp } from '@/chat/ChatApp';
import { SignedIn } from '@/lib/session';

export default function ChatPage() {
  return (
    <SignedIn>
      <ChatApp />
    </SignedIn>
  );
}
