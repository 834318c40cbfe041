import Link from 'next/link';

export default function NotFound() {
  return (
    <main className="page-message">
      <h1>Page not found</h1>
      <p>
        <Link href="/">Back to the chat</Link>
      </p>
    </main>
  );
}
