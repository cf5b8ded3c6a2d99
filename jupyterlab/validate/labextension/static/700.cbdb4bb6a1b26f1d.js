"use strict";(self.rspackChunk_flowlib_validate=self.rspackChunk_flowlib_validate||[]).push([[700],{646(e,t,o){var r=o(601),n=o.n(r),a=o(314),i=(o.n(a))()(n());i.push([e.id,`/* The course's Validate dialog: a table of points per exercise. */
.flowlib-validation {
  max-width: 80ch;
}

.flowlib-validation-points {
  border-collapse: collapse;
  margin: 8px 0;
}

.flowlib-validation-points th,
.flowlib-validation-points td {
  padding: 4px 10px;
  text-align: left;
  vertical-align: top;
  border-bottom: 1px solid var(--jp-border-color2);
}

.flowlib-validation-points tfoot td {
  font-weight: bold;
  border-bottom: none;
}

.flowlib-exercise-points,
.flowlib-total-points {
  white-space: nowrap;
}

.flowlib-exercise-failed .flowlib-exercise-points {
  color: var(--jp-error-color1);
}

.flowlib-exercise-passed .flowlib-exercise-points {
  color: var(--jp-success-color1);
}

.flowlib-validation-check {
  color: var(--jp-warn-color0);
}

.flowlib-validation-check pre,
.flowlib-validation-error pre {
  white-space: pre-wrap;
  max-height: 12em;
  overflow: auto;
  padding: 4px;
  background: var(--jp-layout-color2);
}

.flowlib-validation-note {
  color: var(--jp-ui-font-color2);
  font-size: var(--jp-ui-font-size0);
}
`,""]),o.d(t,{},{A:i})},314(e){e.exports=function(e){var t=[];return t.toString=function(){return this.map(function(t){var o="",r=void 0!==t[5];return t[4]&&(o+="@supports (".concat(t[4],") {")),t[2]&&(o+="@media ".concat(t[2]," {")),r&&(o+="@layer".concat(t[5].length>0?" ".concat(t[5]):""," {")),o+=e(t),r&&(o+="}"),t[2]&&(o+="}"),t[4]&&(o+="}"),o}).join("")},t.i=function(e,o,r,n,a){"string"==typeof e&&(e=[[null,e,void 0]]);var i={};if(r)for(var l=0;l<this.length;l++){var c=this[l][0];null!=c&&(i[c]=!0)}for(var s=0;s<e.length;s++){var p=[].concat(e[s]);r&&i[p[0]]||(void 0!==a&&(void 0===p[5]||(p[1]="@layer".concat(p[5].length>0?" ".concat(p[5]):""," {").concat(p[1],"}")),p[5]=a),o&&(p[2]&&(p[1]="@media ".concat(p[2]," {").concat(p[1],"}")),p[2]=o),n&&(p[4]?(p[1]="@supports (".concat(p[4],") {").concat(p[1],"}"),p[4]=n):p[4]="".concat(n)),t.push(p))}},t}},601(e){e.exports=function(e){return e[1]}},72(e){var t=[];function o(e){for(var o=-1,r=0;r<t.length;r++)if(t[r].identifier===e){o=r;break}return o}function r(e,r){for(var n={},a=[],i=0;i<e.length;i++){var l=e[i],c=r.base?l[0]+r.base:l[0],s=n[c]||0,p="".concat(c," ").concat(s);n[c]=s+1;var u=o(p),d={css:l[1],media:l[2],sourceMap:l[3],supports:l[4],layer:l[5]};if(-1!==u)t[u].references++,t[u].updater(d);else{var f=function(e,t){var o=t.domAPI(t);return o.update(e),function(t){t?(t.css!==e.css||t.media!==e.media||t.sourceMap!==e.sourceMap||t.supports!==e.supports||t.layer!==e.layer)&&o.update(e=t):o.remove()}}(d,r);r.byIndex=i,t.splice(i,0,{identifier:p,updater:f,references:1})}a.push(p)}return a}e.exports=function(e,n){var a=r(e=e||[],n=n||{});return function(e){e=e||[];for(var i=0;i<a.length;i++){var l=o(a[i]);t[l].references--}for(var c=r(e,n),s=0;s<a.length;s++){var p=o(a[s]);0===t[p].references&&(t[p].updater(),t.splice(p,1))}a=c}}},659(e){var t={};e.exports=function(e,o){var r=function(e){if(void 0===t[e]){var o=document.querySelector(e);if(window.HTMLIFrameElement&&o instanceof window.HTMLIFrameElement)try{o=o.contentDocument.head}catch(e){o=null}t[e]=o}return t[e]}(e);if(!r)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");r.appendChild(o)}},540(e){e.exports=function(e){var t=document.createElement("style");return e.setAttributes(t,e.attributes),e.insert(t,e.options),t}},56(e,t,o){e.exports=function(e){var t=o.nc;t&&e.setAttribute("nonce",t)}},825(e){e.exports=function(e){if("u"<typeof document)return{update:function(){},remove:function(){}};var t=e.insertStyleElement(e);return{update:function(o){var r,n,a;r="",o.supports&&(r+="@supports (".concat(o.supports,") {")),o.media&&(r+="@media ".concat(o.media," {")),(n=void 0!==o.layer)&&(r+="@layer".concat(o.layer.length>0?" ".concat(o.layer):""," {")),r+=o.css,n&&(r+="}"),o.media&&(r+="}"),o.supports&&(r+="}"),(a=o.sourceMap)&&"u">typeof btoa&&(r+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(a))))," */")),e.styleTagTransform(r,t,e.options)},remove:function(){var e;null===(e=t).parentNode||e.parentNode.removeChild(e)}}}},113(e){e.exports=function(e,t){if(t.styleSheet)t.styleSheet.cssText=e;else{for(;t.firstChild;)t.removeChild(t.firstChild);t.appendChild(document.createTextNode(e))}}},959(e,t,o){var r=o(72),n=o.n(r),a=o(825),i=o.n(a),l=o(659),c=o.n(l),s=o(56),p=o.n(s),u=o(540),d=o.n(u),f=o(113),v=o.n(f),h=o(646),b={};b.styleTagTransform=v(),b.setAttributes=p(),b.insert=c().bind(null,"head"),b.domAPI=i(),b.insertStyleElement=d(),n()(h.A,b),h.A&&h.A.locals&&h.A.locals}}]);