// The inline script of the first screen (lib/hooks/firstScreen.ts) and the names it shares with it. No React
// here: app/layout.tsx, a server component, renders the script.

/** The local-storage key of the copy (logging out clears all of local storage). */
export const FIRST_SCREEN_KEY = "junction:firstScreen";
/** The element the inline script puts the copy in. */
export const FIRST_SCREEN_ID = "junction-first-screen";
/** A larger copy is not kept (the first screen is a few dozen rows). */
export const FIRST_SCREEN_MAX_CHARS = 200_000;
/** Narrow and wide screens lay the inbox out differently: a copy is shown only on the kind it was made on. */
export const WIDE_MEDIA = "(min-width: 768px)";
export const VERSION = 1;

/**
 * The inline script, run while the document is parsed (before the first paint): shows the kept copy when it
 * fits this screen and the theme, in the element app/layout.tsx renders empty just before it (React does not
 * hydrate the inside of an element rendered with dangerouslySetInnerHTML, so the copy is no mismatch). Plain
 * ES5 with nothing it depends on; it must never throw.
 */
export const FIRST_SCREEN_SCRIPT = `try{(function(){var d=document.getElementById(${JSON.stringify(FIRST_SCREEN_ID)});if(!d)return;var s=localStorage.getItem(${JSON.stringify(FIRST_SCREEN_KEY)});if(!s)return;var c=JSON.parse(s);if(!c||c.v!==${VERSION}||typeof c.html!=="string"||c.html.length>${FIRST_SCREEN_MAX_CHARS})return;if(c.wide!==matchMedia(${JSON.stringify(WIDE_MEDIA)}).matches)return;if(c.dark!==document.documentElement.classList.contains("dark"))return;var t=document.createElement("template");t.innerHTML=c.html;var b=t.content.querySelectorAll("script,iframe,object,embed,style,link,meta,template");for(var i=0;i<b.length;i++)b[i].remove();d.setAttribute("aria-hidden","true");d.inert=true;d.style.cssText="position:fixed;inset:0;z-index:40;pointer-events:none;overflow:hidden";d.className="bg-slate-50 dark:bg-slate-950";d.appendChild(t.content);window.__junctionFirstScreen=performance.now();setTimeout(function(){d.replaceChildren();d.removeAttribute("style");d.removeAttribute("class");d.removeAttribute("aria-hidden");d.inert=false},5000)})()}catch(e){}`;
