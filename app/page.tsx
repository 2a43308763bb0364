import { JunctionApp } from "@/components/JunctionApp";

export default function Page() {
  return <JunctionApp />;
}
