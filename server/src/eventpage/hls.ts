/** The playlist's file name inside an event page's HLS directory. */
export const HLS_PLAYLIST = 'index.m3u8';
/** Segment files the HLS output writes (and the only other names served from its directory). */
export const HLS_SEGMENT = /^seg-\d{5,9}\.ts$/;
